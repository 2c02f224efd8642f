"""Forms of the account pages: API tokens and two-factor authentication."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


def _password_field() -> forms.CharField:
    return forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _code_field(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. the script or computer that uses it."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Days until it expires"), required=False, min_value=1
    )
    password = _password_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        longest = settings.API_TOKEN_DAYS
        field = self.fields["expires_in_days"]
        field.widget.attrs.update({"max": longest, "placeholder": longest})
        field.help_text = _("At most %(days)s; empty: %(days)s.") % {"days": longest}


class SetupForm(forms.Form):
    code = _code_field(_("Code shown by the app"))

    def __init__(self, *args: Any, replacing: bool, **kwargs: Any) -> None:
        """`replacing`: an authenticator is already set up; replacing it takes the password."""
        super().__init__(*args, **kwargs)
        if replacing:
            self.fields["password"] = _password_field()


class VerifyForm(forms.Form):
    code = _code_field(_("Code from your authenticator app, or a recovery code"))


class PasswordForm(forms.Form):
    password = _password_field()

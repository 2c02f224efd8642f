"""Forms of the review pages: queue and audit-trail filters, query steps, SDV and signing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from casebook.review_selectors.queue import AGE_BANDS
from review.models import ResponseCode, SignatureScope


class QueueFilterForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"), required=False)
    participant = forms.CharField(
        label=_("Participant"),
        required=False,
        max_length=20,
        help_text=_("Subject or screening number."),
    )
    age = forms.ChoiceField(
        label=_("Open queries, days open"),
        required=False,
        choices=[("", _("Any")), *((band, band) for band, _low, _high in AGE_BANDS)],
    )

    def __init__(self, *args: Any, sites: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["site"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("All my sites")), *sites]


class QueryOpenForm(forms.Form):
    field_name = forms.CharField(required=False, widget=forms.HiddenInput, max_length=60)
    text = forms.CharField(
        label=_("Question to the site"), widget=forms.Textarea(attrs={"rows": 2})
    )


class QueryAnswerForm(forms.Form):
    response_code = forms.ChoiceField(label=_("Response"), choices=ResponseCode.choices)
    text = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}))


class QueryTextForm(forms.Form):
    """Close (comment optional), re-query or re-open (comment required by the service)."""

    text = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SdvForm(forms.Form):
    """Verify; while a query is unresolved, only with the override ticked and a reason."""

    override = forms.BooleanField(label=_("Verify although a query is unresolved"), required=False)
    reason = forms.CharField(
        label=_("Reason for verifying now"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SignForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Sign"), choices=SignatureScope.choices, widget=forms.RadioSelect
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    acknowledged = forms.BooleanField(
        label=_("I have seen what is outstanding and sign nonetheless"), required=False
    )


class BulkSignForm(forms.Form):
    visit = forms.TypedMultipleChoiceField(coerce=int, label=_("Visits"))
    password = forms.CharField(label=_("Your password"), strip=False)
    acknowledged = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Which visits the user may sign is the selector's to say, not the form's.
        field = self.fields["visit"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.valid_value = lambda value: str(value).isdigit()  # type: ignore[method-assign]


class AuditFilterForm(forms.Form):
    form = forms.ChoiceField(label=_("Form"), required=False)
    user = forms.CharField(
        label=_("Changed by"), required=False, max_length=150, help_text=_("Name as shown.")
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, forms_shown: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["form"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("All")), *forms_shown]


class VisitReportForm(forms.Form):
    """The site and the days of a monitoring visit report, on the site's clock."""

    site = forms.ChoiceField(label=_("Site"))
    first = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, sites: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["site"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = sites

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last and first > last:
            raise forms.ValidationError(_("The first day comes after the last."))
        return data

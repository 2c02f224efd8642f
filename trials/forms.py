"""Forms of the participant and staff pages; the rules themselves live in the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ecrf.access import Role
from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError
from trials.models import ParticipantStatus, Sex, Site, Trial


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        # ISO format is what <input type="date"> reads and sends, whatever the language.
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ParticipantFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *ParticipantStatus.choices],
    )


class RegisterForm(forms.Form):
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, widget=forms.RadioSelect)
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=DateInput())


class ConsentForm(forms.Form):
    form_version = forms.CharField(label=_("Consent form version"), max_length=40)
    consent_date = forms.DateField(label=_("Date of consent"), widget=DateInput())


class AnswerForm(forms.Form):
    """One criterion of the checklist; the page prefixes it with the criterion code."""

    answer = forms.TypedChoiceField(
        label=_("Answer"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Answer yes or no.")},
    )
    comment = forms.CharField(label=_("Comment"), required=False)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        help_text=_("Needed when you change an answer already given."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


def confirmation(label: Any, refused: Any) -> forms.BooleanField:
    """A box the person ticks to say they read what the action does; without it the action
    is refused with `refused`, whatever sent the request."""
    return forms.BooleanField(label=label, required=True, error_messages={"required": refused})


class WithdrawForm(ReasonForm):
    confirm = confirmation(
        _("I understand that withdrawal stops all further visits and cannot be undone."),
        _("Tick the box to confirm the withdrawal; the participant was not withdrawn."),
    )


class LostForm(ReasonForm):
    confirm = confirmation(
        _(
            "I understand that recording loss to follow-up stops all further visits and "
            "cannot be undone."
        ),
        _("Tick the box to confirm the loss to follow-up; nothing was recorded."),
    )


class CompleteForm(forms.Form):
    """Nothing to enter: completion is confirmed by pressing the button."""


class ConfirmForm(forms.Form):
    """Nothing to enter: the investigator confirms the checklist as it stands."""


class ReconfirmForm(forms.Form):
    """A criterion confirmed again on the day of randomization."""

    criterion_code = forms.CharField(widget=forms.HiddenInput, max_length=10)
    answer = forms.TypedChoiceField(
        label=_("Answer today"),
        choices=[("no", _("No")), ("yes", _("Yes"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=2000)


class EnrolForm(forms.Form):
    """Nothing to enter: randomization and cohort enrolment use what is already recorded."""


class RandomizeForm(EnrolForm):
    """Randomization takes a concealed slot for good, so the person confirms it first."""

    confirm = confirmation(
        _(
            "I confirm that this participant is to be randomized now: the next randomization "
            "number and its treatment are assigned for good and cannot be undone."
        ),
        _("Tick the box to confirm the randomization; the participant was not randomized."),
    )


class Day0Form(forms.Form):
    day0 = forms.DateField(label=_("Day 0 (first infusion)"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        help_text=_("Needed when you move a Day 0 already set."),
    )


class VisitRecordForm(forms.Form):
    actual_date = forms.DateField(label=_("Visit date"), widget=DateInput())
    # The schedule shows the labels to screen readers only; the placeholder names the box.
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Reason")}),
    )


class UnblindForm(forms.Form):
    reason = forms.CharField(
        label=_("Medical reason for emergency unblinding"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class _StaffRoleForm(forms.Form):
    """A role at a site of one trial, with the reason for giving it."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    site: forms.ModelChoiceField[Site] = forms.ModelChoiceField(
        label=_("Site"),
        queryset=Site.objects.none(),
        required=False,
        empty_label=_("All sites (for roles that work across the trial)"),
        help_text=_("Investigators, coordinators, pharmacists and monitors work at one site."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=100)

    def __init__(self, *args: Any, trial: Trial, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = trial.sites.order_by("code")  # type: ignore[attr-defined]


class GrantForm(_StaffRoleForm):
    username = forms.CharField(label=_("Username"), max_length=150)

    field_order = ["username", "role", "site", "reason"]


class InviteForm(_StaffRoleForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    printed_name = forms.CharField(
        label=_("Name printed on signatures"),
        max_length=200,
        required=False,
        help_text=_("If empty, the first and last name."),
    )
    email = forms.EmailField(label=_("E-mail address"))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    field_order = [
        "username",
        "first_name",
        "last_name",
        "printed_name",
        "email",
        "language",
        "role",
        "site",
        "reason",
    ]


def attach_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's message on the form: on its fields where it names them, else on top."""
    for name, messages in error.fields.items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
    form.add_error(None, error.message)


def submit(form: forms.Form, action: Callable[[dict[str, Any]], Any]) -> Any:
    """Run `action` on a valid form; a refused rule becomes a message on the form.

    Returns the action's result, or None when the form is to be shown again. A refusal for
    the user's role or site is not a form problem: it goes on to the 403/404 error page.
    """
    if not form.is_valid():
        return None
    try:
        return action(form.cleaned_data)
    except (PermissionDeniedError, NotFoundError):
        raise
    except DomainError as error:
        attach_error(form, error)
        return None

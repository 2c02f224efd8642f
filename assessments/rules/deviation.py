"""Protocol deviations: entered by staff or drafted by a job, then confirmed or dismissed."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import ProtocolDeviation
from assessments.models.deviation import DeviationCategory, DeviationState, Origin
from assessments.rules.base import Checks, FormContext
from assessments.rules.common import check_past_date, coerce, previous_values
from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.messages import Text

STAFF_FIELDS: tuple[str, ...] = (
    "occurred_on",
    "category",
    "description",
    "severity",
    "state",
    "resolution_note",
)
# Only a job (the system actor) drafts automatic deviations; people cannot claim one.
SYSTEM_FIELDS: tuple[str, ...] = ("origin", "source_key")
SYSTEM = frozenset({"system"})
EDITORS = SITE_STAFF_ROLES | {Role.DATA_MANAGER}
VISIT_CATEGORIES = frozenset({DeviationCategory.VISIT_WINDOW, DeviationCategory.MISSED_VISIT})
BEFORE_CONSENT_CATEGORIES = frozenset({DeviationCategory.CONSENT, DeviationCategory.ELIGIBILITY})


def validate(instance: ProtocolDeviation, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, (*STAFF_FIELDS, *SYSTEM_FIELDS), ctx, checks):
        return
    check_past_date(instance, "occurred_on", ctx, checks)
    before = previous_values(instance, ("state",)).get("state")
    if (
        before in (DeviationState.CONFIRMED, DeviationState.DISMISSED)
        and instance.state == DeviationState.DRAFT
    ):
        checks.error(
            "state",
            gettext("A confirmed deviation does not go back to draft.")
            if before == DeviationState.CONFIRMED
            else gettext("A dismissed deviation does not go back to draft."),
        )
    if instance.state == DeviationState.CONFIRMED and not instance.severity:
        checks.error("severity", gettext("Give the severity to confirm the deviation."))
    if instance.state == DeviationState.DISMISSED and not instance.resolution_note.strip():
        checks.error("resolution_note", gettext("Say why the deviation is dismissed."))
    if instance.origin == Origin.AUTOMATIC and not instance.source_key:
        checks.error(
            "source_key", gettext("An automatic deviation names the finding that raised it.")
        )
    if instance.category in VISIT_CATEGORIES and instance.visit_id is None:
        checks.warn("category", Text(gettext_noop("Name the visit this deviation concerns.")))
    if (
        instance.occurred_on is not None
        and ctx.consent_date is not None
        and instance.occurred_on < ctx.consent_date
        and instance.category not in BEFORE_CONSENT_CATEGORIES
    ):
        checks.warn(
            "occurred_on",
            Text(
                gettext_noop(
                    "The deviation is dated before informed consent (%(consent)s); please confirm "
                    "the date."
                ),
                consent=ctx.consent_date.isoformat(),
            ),
        )


def derive(instance: ProtocolDeviation, ctx: FormContext) -> None:
    """A drafted description staff rewrite is theirs: it is no longer worded from its
    template."""
    if instance.description_template and instance.description != ctx.stored.get("description"):
        instance.description_template = ""
        instance.description_params = {}


DEVIATION = FormType(
    code="deviation",
    label=gettext_noop("Protocol deviation"),
    model=ProtocolDeviation,
    scope=FormScope.LOG,
    fields=(*STAFF_FIELDS, *SYSTEM_FIELDS),
    required=("occurred_on", "category", "description", "state"),
    date_fields=("occurred_on",),
    editors=EDITORS,
    field_editors={name: SYSTEM for name in SYSTEM_FIELDS},
    validate=validate,
    derive=derive,
    fieldsets=(
        ("Deviation", ("occurred_on", "category", "description", "severity")),
        ("Review", ("state", "resolution_note")),
        ("Origin", SYSTEM_FIELDS),
    ),
)

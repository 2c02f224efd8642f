"""End of study: how participation ended, checked against the participant's status."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import EndOfStudy
from assessments.models.end_of_study import EndStatus
from assessments.rules.base import Checks, FormContext, check_dates
from assessments.rules.common import coerce
from ecrf.access import SITE_STAFF_ROLES
from ecrf.messages import Text
from trials.models import ParticipantStatus

FIELDS: tuple[str, ...] = ("status", "last_contact_date", "reason")
ENDED = frozenset(
    {
        ParticipantStatus.COMPLETED,
        ParticipantStatus.WITHDRAWN,
        ParticipantStatus.LOST_TO_FOLLOW_UP,
    }
)
# The participant statuses each answer agrees with; a death ends participation as withdrawn.
AGREEING: dict[str, frozenset[str]] = {
    EndStatus.COMPLETED: frozenset({ParticipantStatus.COMPLETED}),
    EndStatus.WITHDRAWN: frozenset({ParticipantStatus.WITHDRAWN}),
    EndStatus.LOST_TO_FOLLOW_UP: frozenset({ParticipantStatus.LOST_TO_FOLLOW_UP}),
    EndStatus.DEATH: frozenset({ParticipantStatus.WITHDRAWN}),
    EndStatus.OTHER: ENDED,
}


def validate(instance: EndOfStudy, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, FIELDS, ctx, checks):
        return
    check_dates(instance, ("last_contact_date",), ctx, checks)
    if instance.status and instance.status != EndStatus.COMPLETED and not instance.reason.strip():
        checks.error(
            "reason", gettext("Give the reason the participant did not complete the study.")
        )
    status = ctx.participant.status
    shown = Text(ParticipantStatus(status).label)
    if status not in ENDED:
        checks.warn(
            "status",
            Text(
                gettext_noop(
                    "The participant is still '%(status)s': record the end of participation "
                    "(completion, withdrawal or loss to follow-up) on the participant too."
                ),
                status=shown,
            ),
        )
    elif instance.status and status not in AGREEING[instance.status]:
        checks.warn(
            "status",
            Text(
                gettext_noop(
                    "The participant's status is '%(status)s', which does not agree with "
                    "'%(end)s'; please correct one of them."
                ),
                status=shown,
                end=Text(EndStatus(instance.status).label),
            ),
        )


END_OF_STUDY = FormType(
    code="end_of_study",
    label=gettext_noop("End of study"),
    model=EndOfStudy,
    scope=FormScope.PARTICIPANT,
    fields=FIELDS,
    required=("status", "last_contact_date"),
    date_fields=("last_contact_date",),
    editors=SITE_STAFF_ROLES,
    validate=validate,
    fieldsets=(("End of study", FIELDS),),
)

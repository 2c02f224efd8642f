"""Visit recording as a site does it: done on a date or not done, with what that settles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from alerts.services import alerts_resolve
from assessments.deviations import DeviationSpec, deviations_draft
from assessments.forms_kit import AT_A_VISIT, FormScope
from assessments.models.deviation import DeviationCategory
from assessments.rules.end_of_study import END_OF_STUDY
from assessments.rules.infusion import INFUSION
from assessments.rules.labs import LABS
from assessments.rules.medical_history import MEDICAL_HISTORY
from assessments.rules.pregnancy import PREGNANCY
from assessments.rules.renal import RENAL
from assessments.rules.sledai import SLEDAI
from assessments.rules.vitals import VITALS
from ecrf.access import SITE_STAFF_ROLES
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError
from ecrf.messages import Text, protocol_param
from ecrf.site_time import local_date
from trials.access import require_role
from trials.services.participants import S
from visits.models import Visit, VisitStatus
from visits.schedule import Window

# The forms kept per visit or per participant, the only ones that can be missing at a visit
# done (logs and the screening forms outside the catalogue cannot). A test holds this to the
# casebook's catalogue.
KEPT_AT_VISITS = frozenset(
    ftype.code
    for ftype in (MEDICAL_HISTORY, SLEDAI, RENAL, LABS, VITALS, PREGNANCY, INFUSION, END_OF_STUDY)
    if ftype.scope in AT_A_VISIT or ftype.scope == FormScope.PARTICIPANT
)


def visit_record(
    *, actor: Any, visit: Visit, actual_date: date, reason: str = "", now: datetime
) -> Visit:
    """Record that a visit took place on `actual_date`; outside its window it is flagged."""
    participant = visit.participant
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("record visits"),
    )
    tz = participant.site.time_zone
    if actual_date > local_date(now, tz):
        raise DomainError(
            gettext("The visit date is in the future."),
            fields={"actual_date": [gettext("In the future.")]},
        )
    with transaction.atomic():
        locked = (
            Visit.objects.select_for_update().select_related("participant__site").get(pk=visit.pk)
        )
        if locked.participant.status not in (
            S.SCREENING,
            S.ELIGIBLE,
            S.RANDOMIZED,
            S.ENROLLED,
            S.ON_STUDY,
        ):
            raise InvalidTransitionError(
                gettext("%(participant)s has left the study.")
                % {"participant": locked.participant.identifier}
            )
        if locked.status == VisitStatus.NOT_DONE:
            raise InvalidTransitionError(gettext("This visit was recorded as not done."))
        if locked.status == VisitStatus.COMPLETED and locked.actual_date == actual_date:
            return locked
        changing = locked.status == VisitStatus.COMPLETED
        if locked.window_opens_at is not None and locked.window_closes_at is not None:
            window = Window(
                locked.target_date or actual_date, locked.window_opens_at, locked.window_closes_at
            )
            locked.out_of_window = not window.contains(actual_date, tz)
        locked.actual_date = actual_date
        locked.status = VisitStatus.COMPLETED
        # Only the forms that can be missing stay pending.
        locked.forms_pending = [code for code in locked.forms_pending if code in KEPT_AT_VISITS]
        saved = audited_save(locked, actor=actor, reason=reason, require_reason=changing)
        _answer_flags(saved, actor=actor, now=now)
        return saved


def _answer_flags(visit: Visit, *, actor: Any, now: datetime) -> None:
    """A visit recorded late resolves its alerts; outside its window it drafts a deviation."""
    alerts_resolve(
        actor=actor,
        alerts=visit.alerts.all(),
        resolution=Text(
            gettext_noop("Visit recorded on %(day)s"), day=f"{visit.actual_date:%Y-%m-%d}"
        ),
        now=now,
    )
    if visit.out_of_window and visit.actual_date is not None:
        deviations_draft(
            [
                DeviationSpec(
                    visit=visit,
                    category=DeviationCategory.VISIT_WINDOW,
                    source_key=f"visit_window:{visit.pk}",
                    occurred_on=visit.actual_date,
                    description=out_of_window_text(visit),
                )
            ],
            actor=actor,
            now=now,
        )


def out_of_window_text(visit: Visit) -> Text:
    """The description of the deviation a visit recorded out of its window drafts."""
    return Text(
        gettext_noop("Visit %(code)s (%(name)s) took place on %(day)s, outside its window."),
        code=visit.code,
        name=protocol_param("visits", visit.code, visit.name),
        day=f"{visit.actual_date:%Y-%m-%d}",
    )


def visit_not_done(*, actor: Any, visit: Visit, reason: str, now: datetime) -> Visit:
    participant = visit.participant
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("record visits"),
    )
    if not reason.strip():
        raise DomainError(
            gettext("Say why the visit was not done."), fields={"reason": [gettext("Required.")]}
        )
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.status == VisitStatus.COMPLETED:
            raise InvalidTransitionError(gettext("This visit was recorded as done."))
        locked.status = VisitStatus.NOT_DONE
        locked.reason = reason.strip()
        return audited_save(locked, actor=actor, reason=reason)

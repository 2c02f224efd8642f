"""Writes for visits: registration, the schedule from Day 0, rescheduling, unscheduled visits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from ecrf.access import SITE_STAFF_ROLES
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError
from ecrf.site_time import local_date, local_midnight
from trials.access import require_role
from trials.definitions import current_version, definition_of
from trials.identifiers import screening_number
from trials.models import Participant, Site
from trials.protocol import ProtocolDefinition
from trials.protocol import Visit as VisitDefinition
from trials.services.participants import (
    S,
    age_on,
    lock_participant,
    next_site_number,
    transition,
)
from visits.models import OPEN_STATUSES, Visit, VisitStatus
from visits.schedule import Window, visit_window


def initial_status(window: Window, now: datetime) -> str:
    return VisitStatus.SCHEDULED if now < window.opens_at else VisitStatus.OPEN


def _visit_row(
    participant: Participant, spec: VisitDefinition, window: Window, now: datetime
) -> Visit:
    return Visit(
        participant=participant,
        protocol_version=participant.protocol_version,
        code=spec.code,
        name=spec.name,
        kind=spec.kind,
        visit_number=Decimal(spec.order),
        day=spec.day,
        target_date=window.target_date,
        window_opens_at=window.opens_at,
        window_closes_at=window.closes_at,
        overdue_at=window.overdue_at,
        dosing=spec.dosing,
        optional=spec.optional,
        forms=list(spec.forms),
        forms_pending=list(spec.forms),
        status=initial_status(window, now),
    )


def screening_rows(
    participant: Participant, definition: ProtocolDefinition, *, time_zone: str, now: datetime
) -> list[Visit]:
    """The screening visits (unsaved): they start at registration, `now`, and stay open for
    the screening period."""
    start = local_date(now, time_zone)
    rows = []
    for spec in definition.visits:
        if spec.kind != "screening":
            continue
        length = spec.window_before + spec.window_after + 1
        window = Window(
            target_date=start,
            opens_at=local_midnight(start, time_zone),
            closes_at=local_midnight(start + timedelta(days=length), time_zone),
        )
        row = _visit_row(participant, spec, window, now)
        row.day = None
        rows.append(row)
    return rows


def visits_create_screening(*, actor: Any, participant: Participant, now: datetime) -> list[Visit]:
    """Screening visits start at registration and stay open for the screening period."""
    definition = definition_of(participant.protocol_version)
    rows = screening_rows(participant, definition, time_zone=participant.site.time_zone, now=now)
    return [audited_save(row, actor=actor) for row in rows]


def participant_register(
    *, actor: Any, site: Site, sex: str, date_of_birth: date, now: datetime
) -> Participant:
    """Register a person at screening with the next screening number of the site."""
    require_role(
        actor,
        trial=site.trial,
        site=site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("register participants"),
    )
    version = current_version(site.trial_id)
    eligibility = definition_of(version).eligibility
    # Ages and "the future" are judged on the site's calendar, not UTC's.
    today = local_date(now, site.time_zone)
    if date_of_birth > today:
        raise DomainError(
            gettext("Date of birth is in the future."),
            fields={"date_of_birth": [gettext("In the future.")]},
        )
    age = age_on(date_of_birth, today)
    if eligibility.min_age_years is not None and age < eligibility.min_age_years:
        raise DomainError(
            gettext("Age %(age)s is below the protocol minimum of %(limit)s.")
            % {"age": age, "limit": eligibility.min_age_years},
            fields={"date_of_birth": [f"{gettext('Age')} {age} < {eligibility.min_age_years}."]},
        )
    if eligibility.max_age_years is not None and age > eligibility.max_age_years:
        raise DomainError(
            gettext("Age %(age)s is above the protocol maximum of %(limit)s.")
            % {"age": age, "limit": eligibility.max_age_years},
            fields={"date_of_birth": [f"{gettext('Age')} {age} > {eligibility.max_age_years}."]},
        )
    with transaction.atomic():
        number = next_site_number(site, "screening")
        participant = audited_save(
            Participant(
                trial=site.trial,
                site=site,
                protocol_version=version,
                screening_number=screening_number(site.code, number),
                sex=sex,
                date_of_birth=date_of_birth,
                registered_at=now,
            ),
            actor=actor,
        )
        visits_create_screening(actor=actor, participant=participant, now=now)
        return participant


def _dosing_recorded(participant: Participant) -> bool:
    return participant.visits.filter(dosing=True, status=VisitStatus.COMPLETED).exists()


@contextmanager
def _within_calendar() -> Iterator[None]:
    """A schedule whose dates would pass 9999-12-31 is refused (and its transaction undone)."""
    try:
        yield
    except OverflowError:
        raise DomainError(
            gettext("Day 0 is too late: its visit schedule would run past the calendar."),
            fields={"day0": [gettext("Too late.")]},
        ) from None


def participant_set_day0(
    *, actor: Any, participant: Participant, day0: date, reason: str = "", now: datetime
) -> Participant:
    """Set Day 0 (first infusion) and create the visits from the schedule; a second call
    reschedules them, which is refused once any dose has been given."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("set Day 0"),
    )
    with transaction.atomic():
        locked = lock_participant(participant)
        tz = locked.site.time_zone
        if locked.randomized_at is not None and day0 < local_date(locked.randomized_at, tz):
            raise DomainError(
                gettext("Day 0 cannot be before randomization or enrolment."),
                fields={"day0": [gettext("Too early.")]},
            )
        if locked.day0 is None:
            if locked.status not in (S.RANDOMIZED, S.ENROLLED):
                raise InvalidTransitionError(
                    gettext("%(participant)s must be randomized or enrolled before Day 0 is set.")
                    % {"participant": locked.identifier}
                )
            transition(locked, S.ON_STUDY)
            locked.day0 = day0
            audited_save(locked, actor=actor, reason=reason or "Day 0 set")
            with _within_calendar():
                _create_schedule(locked, actor=actor, now=now)
            return locked
        if locked.day0 == day0:
            return locked
        if _dosing_recorded(locked):
            raise InvalidTransitionError(
                gettext("A dose has already been given; Day 0 can no longer move.")
            )
        if not reason.strip():
            raise DomainError(
                gettext("Give the reason for rescheduling Day 0."),
                fields={"reason": [gettext("Required.")]},
            )
        locked.day0 = day0
        audited_save(locked, actor=actor, reason=reason)
        with _within_calendar():
            _move_schedule(locked, actor=actor, reason=reason, now=now)
        return locked


def schedule_rows(
    participant: Participant, definition: ProtocolDefinition, *, time_zone: str, now: datetime
) -> list[Visit]:
    """The visits Day 0 creates for `participant` (unsaved), with windows in `time_zone`."""
    assert participant.day0 is not None
    rows = []
    for spec in definition.visits:
        if spec.kind == "screening":
            continue
        window = visit_window(
            day0=participant.day0,
            day=spec.day,
            window_before=spec.window_before,
            window_after=spec.window_after,
            time_zone=time_zone,
        )
        row = _visit_row(participant, spec, window, now)
        if spec.kind == "randomization" and participant.randomized_at is not None:
            # The randomization visit has already happened: record it as it was.
            row.actual_date = local_date(participant.randomized_at, time_zone)
            row.status = VisitStatus.COMPLETED
            row.out_of_window = not window.contains(row.actual_date, time_zone)
        rows.append(row)
    return rows


def _create_schedule(participant: Participant, *, actor: Any, now: datetime) -> None:
    definition = definition_of(participant.protocol_version)
    for row in schedule_rows(
        participant, definition, time_zone=participant.site.time_zone, now=now
    ):
        audited_save(row, actor=actor)


def _move_schedule(participant: Participant, *, actor: Any, reason: str, now: datetime) -> None:
    definition = definition_of(participant.protocol_version)
    tz = participant.site.time_zone
    assert participant.day0 is not None
    for visit in participant.visits.select_for_update().filter(
        parent__isnull=True, day__isnull=False
    ):
        spec = definition.visit(visit.code)
        window = visit_window(
            day0=participant.day0,
            day=spec.day,
            window_before=spec.window_before,
            window_after=spec.window_after,
            time_zone=tz,
        )
        visit.target_date = window.target_date
        visit.window_opens_at, visit.window_closes_at = window.opens_at, window.closes_at
        visit.overdue_at = window.overdue_at
        # A visit missed only because Day 0 was wrong gets its new window back.
        if visit.status in (*OPEN_STATUSES, VisitStatus.MISSED):
            visit.status = initial_status(window, now)
            visit.flagged_at = None
        elif visit.actual_date is not None:
            visit.out_of_window = not window.contains(visit.actual_date, tz)
        audited_save(visit, actor=actor, reason=reason)


def visit_add_unscheduled(
    *, actor: Any, parent: Visit, actual_date: date, reason: str, forms: list[str], now: datetime
) -> Visit:
    """An unscheduled visit, numbered after its parent visit (3.01, 3.02, ...)."""
    participant = parent.participant
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("add visits"),
    )
    if parent.parent_id is not None:
        # Its number (3.01) plus 0.01 would collide with its sibling 3.02.
        raise DomainError(
            gettext("%(visit)s is itself unscheduled; add the visit to a scheduled visit.")
            % {"visit": parent.code},
            fields={"parent": [gettext("Choose a scheduled visit.")]},
        )
    if not reason.strip():
        raise DomainError(
            gettext("Say why the unscheduled visit took place."),
            fields={"reason": [gettext("Required.")]},
        )
    known = set(definition_of(participant.protocol_version).forms)
    unknown = [form for form in forms if form not in known]
    if unknown:
        raise DomainError(
            gettext("Unknown form(s): %(forms)s.") % {"forms": ", ".join(unknown)},
            fields={"forms": [gettext("Unknown form.")]},
        )
    if actual_date > local_date(now, participant.site.time_zone):
        raise DomainError(
            gettext("The visit date is in the future."),
            fields={"actual_date": [gettext("In the future.")]},
        )
    with transaction.atomic():
        lock_participant(participant)
        count = Visit.objects.filter(parent=parent).count()
        if count >= 99:
            raise DomainError(gettext("A visit can have at most 99 unscheduled visits."))
        return audited_save(
            Visit(
                participant=participant,
                protocol_version=participant.protocol_version,
                code=f"{parent.code}.U{count + 1:02d}",
                name=f"Unscheduled after {parent.name}",
                kind="unscheduled",
                visit_number=parent.visit_number + Decimal(count + 1) / 100,
                parent=parent,
                forms=forms,
                forms_pending=list(forms),
                status=VisitStatus.COMPLETED,
                actual_date=actual_date,
                reason=reason.strip(),
            ),
            actor=actor,
        )

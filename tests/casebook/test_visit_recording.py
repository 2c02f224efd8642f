"""Visit recording: dates outside the window flagged, none in the site's future, not done with
a reason, and only the participant's site staff record."""

from __future__ import annotations

from datetime import date

import pytest

from assessments.services.visits import visit_not_done, visit_record
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from tests.personas import NOW
from tests.visits import test_visit_services as services
from tests.visits.test_visit_services import randomized, record, set_day0, utc, visits
from visits.models import Visit, VisitStatus

# The fixtures of the visit services' tests: the same trial and clock, the schedule from Day 0.
clock = services.clock
msvle = services.msvle


def test_visit_record_flags_dates_outside_the_window(msvle, clock) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 20))
    clock.move_to(utc(2026, 4, 2, 9), tick=False)
    w1 = visits(participant)["W1"]
    done = record(msvle, w1, date(2026, 3, 29))  # the last window day, a 23-hour day
    assert (done.status, done.actual_date, done.out_of_window) == (
        "completed",
        date(2026, 3, 29),
        False,
    )
    with pytest.raises(DomainError, match="reason"):
        record(msvle, w1, date(2026, 3, 30))
    late = record(msvle, w1, date(2026, 3, 30), reason="Date typed wrongly")
    assert late.out_of_window is True
    assert late.history.first().history_change_reason == "Date typed wrongly"
    early = record(msvle, visits(participant)["W4"], date(2026, 4, 1))  # window opens 14 April
    assert early.out_of_window is True
    back = record(msvle, w1, date(2026, 3, 25), reason="Source checked")
    assert back.out_of_window is False


def test_visit_dates_in_the_site_future_are_refused(msvle, clock) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 20))
    # 23:30 UTC on 20 March is 00:30 on 21 March in Valladolid.
    clock.move_to(utc(2026, 3, 20, 23, 30), tick=False)
    dosing = visits(participant)["D0"]
    with pytest.raises(DomainError, match="in the future"):
        record(msvle, dosing, date(2026, 3, 22))
    assert Visit.objects.get(pk=dosing.pk).status == VisitStatus.SCHEDULED
    done = record(msvle, dosing, date(2026, 3, 21))
    assert (done.status, done.out_of_window) == ("completed", True)


def test_not_done_needs_a_reason_and_then_the_visit_cannot_be_recorded(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 2))
    w1 = visits(participant)["W1"]
    with pytest.raises(DomainError, match="Say why the visit was not done"):
        visit_not_done(actor=msvle.coordinator, visit=w1, reason="  ", now=NOW)
    assert Visit.objects.get(pk=w1.pk).status == VisitStatus.SCHEDULED
    skipped = visit_not_done(actor=msvle.coordinator, visit=w1, reason=" Hospitalised ", now=NOW)
    assert (skipped.status, skipped.reason) == (VisitStatus.NOT_DONE, "Hospitalised")
    assert skipped.history.first().history_user == msvle.coordinator
    with pytest.raises(InvalidTransitionError, match="recorded as not done"):
        record(msvle, w1, date(2026, 3, 2))
    dosing = record(msvle, visits(participant)["D0"], date(2026, 3, 2))
    with pytest.raises(InvalidTransitionError, match="recorded as done"):
        visit_not_done(actor=msvle.coordinator, visit=dosing, reason="Mistake", now=NOW)


def test_recording_needs_site_staff_of_the_participants_site(msvle) -> None:
    participant = set_day0(msvle, randomized(msvle), date(2026, 3, 2))
    dosing = visits(participant)["D0"]
    for actor in (msvle.other_coordinator, msvle.monitor, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            visit_record(actor=actor, visit=dosing, actual_date=date(2026, 3, 2), now=NOW)
    assert Visit.objects.get(pk=dosing.pk).status == VisitStatus.OPEN

"""SAE and SUSAR reporting clocks: states at a given time, marking reports, dashboard scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from ecrf.errors import InvalidTransitionError, PermissionDeniedError
from safety.rules import ClockState, clock_state
from safety.selectors import ae_versions, sae_clock
from safety.services import sae_mark_reported, susar_mark_reported
from tests.safety.events import data_manager, enter, follow_up

AWARE = datetime(2026, 4, 18, 8, 30, tzinfo=UTC)
DUE = AWARE + timedelta(hours=24)
SPONSOR_AWARE = datetime(2026, 4, 19, 7, 15, tzinfo=UTC)
SUSAR_DUE = SPONSOR_AWARE + timedelta(days=15)

PNEUMONIA = {
    "verbatim_term": "Pneumonia",
    "onset_date": "2026-04-17",
    "ctcae_grade": 3,
    "hospitalisation": True,
    "investigator_causality": "possible",
    "outcome": "recovering",
    "ongoing": True,
    "site_awareness_at": AWARE,
}
UNEXPECTED_PROBABLE = {
    "sponsor_causality": "probable",
    "expectedness": "unexpected",
    "sponsor_awareness_at": SPONSOR_AWARE,
}


def sae(team, participant, **extra):
    return enter(team, participant, {**PNEUMONIA, **extra}, now=AWARE + timedelta(hours=1))


def states(user, team, now):
    return {row.ae.pk: (row.sae_state, row.susar_state) for row in sae_clock(user, team.trial, now)}


@pytest.mark.parametrize(
    ("reported", "now", "state"),
    [
        (None, DUE - timedelta(minutes=1), ClockState.DUE),
        (None, DUE, ClockState.DUE),  # the deadline itself is still in time
        (None, DUE + timedelta(microseconds=1), ClockState.OVERDUE),
        (DUE, DUE + timedelta(days=3), ClockState.ON_TIME),
        (DUE + timedelta(seconds=1), DUE + timedelta(days=3), ClockState.LATE),
    ],
)
def test_clock_state_boundaries(reported, now, state) -> None:
    assert clock_state(DUE, reported, now) is state
    assert clock_state(None, reported, now) is ClockState.NO_DEADLINE


def test_an_unreported_sae_goes_from_due_to_overdue(msvle, participant) -> None:
    ae = sae(msvle, participant)
    assert states(msvle.coordinator, msvle, DUE - timedelta(hours=1)) == {
        ae.pk: (ClockState.DUE, None)
    }
    assert states(msvle.coordinator, msvle, DUE + timedelta(minutes=1)) == {
        ae.pk: (ClockState.OVERDUE, None)
    }


def test_the_dashboard_reads_the_frozen_clock(msvle, participant) -> None:
    ae = sae(msvle, participant)
    with time_machine.travel(DUE + timedelta(hours=2), tick=False):
        now = timezone.now()
        assert states(msvle.medical_monitor, msvle, now) == {ae.pk: (ClockState.OVERDUE, None)}


def test_reported_on_time_and_late(msvle, participant) -> None:
    on_time = sae(msvle, participant)
    late = sae(msvle, participant, verbatim_term="Pyelonephritis")
    sae_mark_reported(
        actor=msvle.coordinator, ae=on_time, reported_at=AWARE + timedelta(hours=20), now=DUE
    )
    later = DUE + timedelta(hours=8)
    sae_mark_reported(actor=msvle.investigator, ae=late, reported_at=later, now=later)
    assert states(msvle.coordinator, msvle, later + timedelta(days=30)) == {
        on_time.pk: (ClockState.ON_TIME, None),
        late.pk: (ClockState.LATE, None),
    }
    marked = ae_versions(msvle.coordinator, on_time)[-1]
    assert (marked.reason, marked.who) == (
        "SAE report sent to the sponsor",
        f"{msvle.coordinator.display_name()} ({msvle.coordinator.username})",
    )
    assert [c.field for c in marked.changes] == ["sae_reported_at"]


def test_marking_the_sae_report_is_for_site_staff_once_and_for_serious_events(
    msvle, participant
) -> None:
    ae = sae(msvle, participant)
    with pytest.raises(PermissionDeniedError, match="sae_reported_at"):
        sae_mark_reported(actor=msvle.medical_monitor, ae=ae, reported_at=DUE, now=DUE)
    with pytest.raises(PermissionDeniedError):
        sae_mark_reported(actor=msvle.other_coordinator, ae=ae, reported_at=DUE, now=DUE)
    with pytest.raises(PermissionDeniedError):
        sae_mark_reported(actor=msvle.monitor, ae=ae, reported_at=DUE, now=DUE)
    reported = sae_mark_reported(actor=msvle.coordinator, ae=ae, reported_at=DUE, now=DUE)
    with pytest.raises(InvalidTransitionError, match="correct it on the form"):
        sae_mark_reported(actor=msvle.coordinator, ae=reported, reported_at=DUE, now=DUE)
    mild = enter(
        msvle,
        participant,
        {"verbatim_term": "Nausea", "onset_date": "2026-04-17"},
        now=DUE,
    )
    with pytest.raises(InvalidTransitionError, match="Only a serious"):
        sae_mark_reported(actor=msvle.coordinator, ae=mild, reported_at=DUE, now=DUE)


def test_susar_clock_runs_from_the_sponsors_knowledge(msvle, participant) -> None:
    ae = sae(msvle, participant)
    ae = sae_mark_reported(actor=msvle.coordinator, ae=ae, reported_at=SPONSOR_AWARE, now=DUE)
    ae = follow_up(
        msvle, ae, UNEXPECTED_PROBABLE, actor=msvle.medical_monitor, reason="Assessed", now=DUE
    )
    assert ae.susar_due_at == SUSAR_DUE
    assert states(msvle.medical_monitor, msvle, SUSAR_DUE) == {
        ae.pk: (ClockState.ON_TIME, ClockState.DUE)
    }
    assert states(msvle.medical_monitor, msvle, SUSAR_DUE + timedelta(seconds=1)) == {
        ae.pk: (ClockState.ON_TIME, ClockState.OVERDUE)
    }
    submitted_at = SPONSOR_AWARE + timedelta(days=6)
    with pytest.raises(PermissionDeniedError, match="susar_reported_at"):
        susar_mark_reported(
            actor=msvle.coordinator, ae=ae, reported_at=submitted_at, now=submitted_at
        )
    susar_mark_reported(
        actor=msvle.medical_monitor, ae=ae, reported_at=submitted_at, now=submitted_at
    )
    assert states(msvle.medical_monitor, msvle, SUSAR_DUE + timedelta(days=1)) == {
        ae.pk: (ClockState.ON_TIME, ClockState.ON_TIME)
    }


def test_a_susar_without_the_sponsors_knowledge_has_no_deadline_yet(msvle, participant) -> None:
    ae = sae(msvle, participant)
    follow_up(
        msvle,
        ae,
        {"sponsor_causality": "probable", "expectedness": "unexpected"},
        actor=msvle.medical_monitor,
        now=DUE,
    )
    (row,) = sae_clock(msvle.medical_monitor, msvle.trial, DUE)
    assert (row.susar, row.susar_due_at, row.susar_state) == (True, None, ClockState.NO_DEADLINE)
    assert row.pending


def test_only_serious_events_and_pending_ones_on_request(msvle, participant) -> None:
    enter(msvle, participant, {"verbatim_term": "Nausea", "onset_date": "2026-04-17"}, now=DUE)
    open_one = sae(msvle, participant)
    done = sae(msvle, participant, verbatim_term="Pyelonephritis")
    sae_mark_reported(actor=msvle.coordinator, ae=done, reported_at=DUE, now=DUE)
    rows = sae_clock(msvle.coordinator, msvle.trial, DUE + timedelta(hours=1))
    # Overdue first.
    assert [row.ae.pk for row in rows] == [open_one.pk, done.pk]
    pending = sae_clock(msvle.coordinator, msvle.trial, DUE + timedelta(hours=1), pending_only=True)
    assert [row.ae.pk for row in pending] == [open_one.pk]


def test_dashboard_scope_follows_memberships(msvle, participant, other_participant) -> None:
    here = sae(msvle, participant)
    there = enter(msvle, other_participant, PNEUMONIA, actor=msvle.other_coordinator, now=DUE)
    assert set(states(msvle.coordinator, msvle, DUE)) == {here.pk}
    assert set(states(msvle.monitor, msvle, DUE)) == {here.pk}
    assert set(states(msvle.other_coordinator, msvle, DUE)) == {there.pk}
    assert set(states(msvle.medical_monitor, msvle, DUE)) == {here.pk, there.pk}
    assert set(states(data_manager(msvle), msvle, DUE)) == {here.pk, there.pk}
    # Not a safety reader, and not a member of this trial.
    assert states(msvle.statistician, msvle, DUE) == {}
    assert states(msvle.pharmacist, msvle, DUE) == {}


def test_other_site_coordinator_sees_an_empty_dashboard(msvle, participant) -> None:
    sae(msvle, participant)
    assert sae_clock(msvle.other_coordinator, msvle.trial, DUE) == []


def test_dashboard_of_another_trial_is_empty(msvle, mscrole, participant) -> None:
    sae(msvle, participant)
    assert sae_clock(mscrole.medical_monitor, msvle.trial, DUE) == []
    assert sae_clock(msvle.medical_monitor, mscrole.trial, DUE) == []


@pytest.mark.parametrize("count", [2, 6])
def test_dashboard_query_count_does_not_grow_per_row(
    msvle, participant, other_participant, django_assert_num_queries, count
) -> None:
    for number in range(count):
        if number % 2:
            enter(msvle, other_participant, PNEUMONIA, actor=msvle.other_coordinator, now=DUE)
        else:
            sae(msvle, participant, verbatim_term=f"Event {number}")
    # The medical monitor's memberships, then the events with participant and site.
    with django_assert_num_queries(2):
        rows = sae_clock(msvle.medical_monitor, msvle.trial, DUE)
        shown = [(row.participant, row.site, row.sae_state) for row in rows]
    assert len(shown) == count
    assert {site for _, site, _ in shown} == {msvle.site.code, msvle.other_site.code}


def test_the_most_urgent_clock_comes_first_then_the_earliest_deadline(msvle, participant) -> None:
    # Ordered in the database: overdue, no deadline yet, due, reported late, reported on time.
    on_time = sae(msvle, participant, verbatim_term="On time")
    sae_mark_reported(actor=msvle.coordinator, ae=on_time, reported_at=DUE, now=DUE)
    late = sae(
        msvle,
        participant,
        verbatim_term="Late",
        onset_date="2026-04-10",
        site_awareness_at=AWARE - timedelta(days=2),
    )
    sae_mark_reported(actor=msvle.coordinator, ae=late, reported_at=DUE, now=DUE)
    now = DUE + timedelta(hours=1)
    due = enter(
        msvle, participant, {**PNEUMONIA, "verbatim_term": "Due", "site_awareness_at": DUE}, now=now
    )
    overdue_later = sae(msvle, participant, verbatim_term="Overdue 2")
    overdue = sae(
        msvle, participant, verbatim_term="Overdue 1", site_awareness_at=AWARE - timedelta(hours=1)
    )
    no_deadline = sae(msvle, participant, verbatim_term="No deadline")
    no_deadline = sae_mark_reported(
        actor=msvle.coordinator, ae=no_deadline, reported_at=DUE, now=DUE
    )
    follow_up(
        msvle,
        no_deadline,
        {"sponsor_causality": "probable", "expectedness": "unexpected"},
        actor=msvle.medical_monitor,
        now=DUE,
    )
    rows = sae_clock(msvle.medical_monitor, msvle.trial, now)
    assert [row.ae.pk for row in rows] == [
        overdue.pk,
        overdue_later.pk,
        no_deadline.pk,
        due.pk,
        late.pk,
        on_time.pk,
    ]

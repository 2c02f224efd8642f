"""SUSAR clocks: a SUSAR upgraded to fatal or life-threatening restarts on 7 days from the
sponsor's knowledge of it; the follow-up of a 7-day report is due 8 days after it, with its own
late alert; every time a site user reads is on the site's clock, Madrid's or Santiago's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from rest_framework.test import APIClient

from alerts.models import Alert, AlertKind
from casebook.catalogue import form_type
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from flagging.late_reports import late_reports_flag_all
from safety.rules import ClockState
from safety.selectors import sae_clock
from safety.services import sae_mark_reported, susar_followup_mark_reported, susar_mark_reported
from tests.safety.events import enter, follow_up
from tests.safety.test_sae_clock import AWARE, PNEUMONIA, SPONSOR_AWARE

MINUTE = timedelta(minutes=1)
UNEXPECTED = {
    "sponsor_causality": "probable",
    "expectedness": "unexpected",
    "sponsor_awareness_at": SPONSOR_AWARE,
}


def susar(team, participant, *, actor=None, **extra):
    """A 15-day SUSAR: entered by the site, assessed by the medical monitor."""
    ae = enter(team, participant, {**PNEUMONIA, **extra}, actor=actor, now=AWARE + MINUTE)
    return follow_up(
        team,
        ae,
        UNEXPECTED,
        actor=team.medical_monitor,
        reason="Sponsor assessment",
        now=SPONSOR_AWARE + MINUTE,
    )


def upgrade(team, ae, known_at):
    """The event turns life-threatening; the sponsor records when it learned so."""
    worse = follow_up(
        team, ae, {"life_threatening": True, "ctcae_grade": 4}, reason="ICU", now=known_at
    )
    return follow_up(
        team,
        worse,
        {"sponsor_fatal_awareness_at": known_at},
        actor=team.medical_monitor,
        reason="Upgrade known",
        now=known_at + MINUTE,
    )


# The upgrade --------------------------------------------------------------------------------


def test_an_upgraded_susar_is_due_7_days_after_the_sponsor_learns_of_the_upgrade(
    msvle, participant
) -> None:
    ae = susar(msvle, participant)
    assert ae.susar_due_at == SPONSOR_AWARE + timedelta(days=15)
    known = SPONSOR_AWARE + timedelta(days=3)
    upgraded = upgrade(msvle, ae, known)
    # Earlier than the 15-day deadline still running, later than first knowledge + 7 days.
    assert upgraded.susar_due_at == known + timedelta(days=7)
    assert "knowledge that the event is fatal or life-threatening + 7 days" in form_type(
        "adverse_events"
    ).explain(upgraded)


def test_a_late_upgrade_keeps_the_15_day_deadline_already_running(msvle, participant) -> None:
    ae = susar(msvle, participant)
    upgraded = upgrade(msvle, ae, SPONSOR_AWARE + timedelta(days=10))
    assert upgraded.susar_due_at == SPONSOR_AWARE + timedelta(days=15)


def test_without_a_later_knowledge_a_fatal_susar_counts_from_first_knowledge(
    msvle, participant
) -> None:
    ae = susar(msvle, participant, life_threatening=True)
    assert ae.susar_due_at == SPONSOR_AWARE + timedelta(days=7)


def test_the_upgrade_cannot_be_known_before_the_event(msvle, participant) -> None:
    ae = susar(msvle, participant, life_threatening=True)
    with pytest.raises(DomainError) as error:
        follow_up(
            msvle,
            ae,
            {"sponsor_fatal_awareness_at": SPONSOR_AWARE - timedelta(hours=1)},
            actor=msvle.medical_monitor,
            now=SPONSOR_AWARE + timedelta(days=1),
        )
    assert (
        "before it first knew of the event" in error.value.fields["sponsor_fatal_awareness_at"][0]
    )
    with pytest.raises(PermissionDeniedError):
        follow_up(
            msvle,
            ae,
            {"sponsor_fatal_awareness_at": SPONSOR_AWARE + timedelta(hours=1)},
            now=SPONSOR_AWARE + timedelta(days=1),
        )


# The follow-up report -----------------------------------------------------------------------


def reported_fatal_susar(team, participant, *, actor=None, reported=None):
    ae = susar(team, participant, actor=actor, life_threatening=True)
    reported = reported or SPONSOR_AWARE + timedelta(days=5)
    return susar_mark_reported(
        actor=team.medical_monitor, ae=ae, reported_at=reported, now=reported
    )


def test_the_follow_up_report_is_due_8_days_after_the_initial_report(msvle, participant) -> None:
    reported = SPONSOR_AWARE + timedelta(days=5)
    ae = reported_fatal_susar(msvle, participant, reported=reported)
    due = reported + timedelta(days=8)
    assert ae.susar_followup_due_at == due
    states = {
        offset: next(
            row.susar_followup_state
            for row in sae_clock(msvle.medical_monitor, msvle.trial, due + offset)
            if row.ae.pk == ae.pk
        )
        for offset in (-MINUTE, timedelta(0), MINUTE)
    }
    assert states == {
        -MINUTE: ClockState.DUE,
        timedelta(0): ClockState.DUE,
        MINUTE: ClockState.OVERDUE,
    }
    assert "SUSAR follow-up report due" in form_type("adverse_events").explain(ae)


def test_a_15_day_susar_has_no_follow_up_clock(msvle, participant) -> None:
    ae = susar(msvle, participant)
    reported = SPONSOR_AWARE + timedelta(days=2)
    ae = susar_mark_reported(actor=msvle.medical_monitor, ae=ae, reported_at=reported, now=reported)
    assert ae.susar_followup_due_at is None
    with pytest.raises(InvalidTransitionError, match="no follow-up report due"):
        susar_followup_mark_reported(
            actor=msvle.medical_monitor, ae=ae, reported_at=reported, now=reported
        )


def test_a_report_made_before_the_upgrade_is_followed_up_7_days_after_it(
    msvle, participant
) -> None:
    ae = susar(msvle, participant)
    reported = SPONSOR_AWARE + timedelta(days=2)
    ae = susar_mark_reported(actor=msvle.medical_monitor, ae=ae, reported_at=reported, now=reported)
    known = SPONSOR_AWARE + timedelta(days=4)
    upgraded = upgrade(msvle, ae, known)
    assert upgraded.susar_followup_due_at == known + timedelta(days=7)


def test_the_late_follow_up_alert_is_raised_once_at_its_deadline(
    msvle, participant, django_capture_on_commit_callbacks
) -> None:
    reported = SPONSOR_AWARE + timedelta(days=5)
    ae = reported_fatal_susar(msvle, participant, reported=reported)
    sae_mark_reported(actor=msvle.coordinator, ae=ae, reported_at=AWARE + MINUTE, now=reported)
    due = reported + timedelta(days=8)
    late = Alert.objects.filter(kind=AlertKind.SUSAR_FOLLOWUP_LATE, adverse_event=ae)
    late_reports_flag_all(now=due - MINUTE)
    assert not late.exists()
    with django_capture_on_commit_callbacks(execute=True):
        late_reports_flag_all(now=due)
    alert = late.get()
    assert alert.occurred_at == due
    assert "follow-up report is overdue (due 2026-05-02 09:15 (Europe/Madrid)" in alert.message
    late_reports_flag_all(now=due + MINUTE)
    assert late.count() == 1
    # A sponsor alert: e-mailed to the medical monitor.
    assert any(
        msvle.medical_monitor.email in message.to and "follow-up" in message.body
        for message in mail.outbox
    )


def test_a_follow_up_reported_in_time_raises_nothing(msvle, participant) -> None:
    reported = SPONSOR_AWARE + timedelta(days=5)
    ae = reported_fatal_susar(msvle, participant, reported=reported)
    due = reported + timedelta(days=8)
    ae = susar_followup_mark_reported(actor=msvle.medical_monitor, ae=ae, reported_at=due, now=due)
    with pytest.raises(InvalidTransitionError, match=r"2026-05-02 09:15 \(Europe/Madrid\)"):
        susar_followup_mark_reported(actor=msvle.medical_monitor, ae=ae, reported_at=due, now=due)
    with pytest.raises(DomainError):
        follow_up(
            msvle,
            ae,
            {"susar_followup_reported_at": reported - MINUTE},
            actor=msvle.medical_monitor,
            now=due,
        )
    late_reports_flag_all(now=due + timedelta(days=3))
    assert not Alert.objects.filter(kind=AlertKind.SUSAR_FOLLOWUP_LATE).exists()


# Site time: Madrid and Santiago --------------------------------------------------------------


def test_late_sae_messages_name_each_sites_clock(msvle, participant, other_participant) -> None:
    madrid = enter(msvle, participant, PNEUMONIA, now=AWARE + MINUTE)
    santiago = enter(
        msvle, other_participant, PNEUMONIA, actor=msvle.other_coordinator, now=AWARE + MINUTE
    )
    late_reports_flag_all(now=AWARE + timedelta(days=2))
    messages = {
        a.adverse_event_id: a.message for a in Alert.objects.filter(kind=AlertKind.SAE_LATE)
    }
    # Due 2026-04-19 08:30 UTC: 10:30 in Madrid (UTC+2), 04:30 in Santiago (UTC-4).
    assert "(due 2026-04-19 10:30 (Europe/Madrid))" in messages[madrid.pk]
    assert "(due 2026-04-19 04:30 (America/Santiago))" in messages[santiago.pk]
    assert not any("UTC" in text for text in messages.values())
    explained = form_type("adverse_events").explain(santiago)
    assert "SAE report due 2026-04-19 04:30 (America/Santiago)" in explained
    assert "UTC" not in explained


def test_marking_twice_names_the_time_on_the_sites_clock(msvle, other_participant) -> None:
    ae = enter(
        msvle, other_participant, PNEUMONIA, actor=msvle.other_coordinator, now=AWARE + MINUTE
    )
    at = AWARE + timedelta(hours=3)
    ae = sae_mark_reported(actor=msvle.other_coordinator, ae=ae, reported_at=at, now=at)
    with pytest.raises(InvalidTransitionError) as error:
        sae_mark_reported(actor=msvle.other_coordinator, ae=ae, reported_at=at, now=at)
    assert "2026-04-18 07:30 (America/Santiago)" in error.value.message
    assert "UTC" not in error.value.message


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_the_clock_api_answers_on_the_sites_clock_and_names_the_zone(
    api, msvle, participant, other_participant, time_machine
) -> None:
    time_machine.move_to(AWARE + timedelta(hours=2), tick=False)
    enter(msvle, other_participant, PNEUMONIA, actor=msvle.other_coordinator, now=AWARE + MINUTE)
    api.force_login(msvle.other_coordinator)
    response = api.get("/api/v1/trials/MSVLE/sae-clock/")
    assert response.status_code == 200, response.content
    assert response["X-Time-Zone"] == "America/Santiago"
    (row,) = response.json()["results"]
    assert (row["time_zone"], row["sae_due_at"]) == (
        "America/Santiago",
        "2026-04-19T04:30:00-04:00",
    )
    # Rows of two zones: each row names its own, the header none.
    enter(msvle, participant, PNEUMONIA, now=AWARE + MINUTE)
    api.force_login(msvle.medical_monitor)
    response = api.get("/api/v1/trials/MSVLE/sae-clock/")
    assert "X-Time-Zone" not in response
    assert {row["time_zone"] for row in response.json()["results"]} == {
        "Europe/Madrid",
        "America/Santiago",
    }


def test_the_report_api_reads_a_naive_time_on_the_sites_clock_and_takes_an_offset_as_given(
    api, msvle, participant, other_participant, time_machine
) -> None:
    time_machine.move_to(AWARE + timedelta(hours=6), tick=False)
    santiago = enter(
        msvle, other_participant, PNEUMONIA, actor=msvle.other_coordinator, now=AWARE + MINUTE
    )
    madrid = enter(msvle, participant, PNEUMONIA, now=AWARE + MINUTE)
    api.force_login(msvle.other_coordinator)
    url = f"/api/v1/adverse-events/{santiago.pk}/reports/"
    response = api.post(url, {"report": "sae", "reported_at": "2026-04-18T07:00"}, format="json")
    assert response.status_code == 200, response.content
    assert response["X-Time-Zone"] == "America/Santiago"
    assert response.json()["sae_reported_at"] == "2026-04-18T07:00:00-04:00"
    santiago.refresh_from_db()
    assert santiago.sae_reported_at == datetime(2026, 4, 18, 11, 0, tzinfo=UTC)

    # Another site's event is not found; the right user with an explicit offset is taken as is.
    response = api.post(
        f"/api/v1/adverse-events/{madrid.pk}/reports/",
        {"report": "sae", "reported_at": "2026-04-18T12:00:00+02:00"},
        format="json",
    )
    assert response.status_code == 404
    api.force_login(msvle.coordinator)
    response = api.post(
        f"/api/v1/adverse-events/{madrid.pk}/reports/",
        {"report": "sae", "reported_at": "2026-04-18T08:00:00-04:00"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response["X-Time-Zone"] == "Europe/Madrid"
    assert response.json()["sae_reported_at"] == "2026-04-18T14:00:00+02:00"

    response = api.post(
        f"/api/v1/adverse-events/{madrid.pk}/reports/",
        {"report": "susar", "reported_at": "yesterday"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["reported_at"] == ["Give a date and a time."]


def test_the_clock_page_and_api_show_the_follow_up_clock(
    client, api, msvle, participant, time_machine
) -> None:
    reported = SPONSOR_AWARE + timedelta(days=5)
    ae = reported_fatal_susar(msvle, participant, reported=reported)
    time_machine.move_to(reported + timedelta(days=8) + MINUTE, tick=False)
    client.force_login(msvle.medical_monitor)
    page = client.get("/safety/clock/").content.decode()
    # Due 2026-05-02 07:15 UTC: 09:15 in Madrid (CEST).
    assert "Follow-up report due 2026-05-02 09:15 CEST" in page
    assert page.count('<span class="status status-missed">Overdue</span>') == 2  # SAE, follow-up
    api.force_login(msvle.medical_monitor)
    (row,) = api.get("/api/v1/trials/MSVLE/sae-clock/").json()["results"]
    assert row["adverse_event"] == ae.pk
    assert (row["susar_followup_due_at"], row["susar_followup_state"], row["pending"]) == (
        "2026-05-02T09:15:00+02:00",
        "overdue",
        True,
    )

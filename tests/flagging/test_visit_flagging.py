"""The visit job: opened, overdue and missed at their deadlines, once, with alerts, deviations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from alerts.models import Alert, AlertKind, AlertStatus
from assessments.models import ProtocolDeviation
from assessments.services.visits import visit_record
from flagging.visits import visits_flag_all, visits_flag_step
from visits.models import Visit


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def w1(participant) -> Visit:
    # Day 0 is 2026-03-04, so week 1 is 2026-03-11 with a window of +/- 2 days: 9 to 13 March.
    return participant.visits.get(code="W1")


def test_window_deadlines_are_local_midnights(participant) -> None:
    visit = w1(participant)
    assert visit.window_opens_at == at("2026-03-09T00:00:00+01:00")
    assert visit.overdue_at == at("2026-03-12T00:00:00+01:00")
    assert visit.window_closes_at == at("2026-03-14T00:00:00+01:00")


def test_opened_overdue_missed_each_at_its_deadline(participant) -> None:
    visit = w1(participant)
    visits_flag_all(now=at("2026-03-08T23:59:59+01:00"))
    visit.refresh_from_db()
    assert visit.status == "scheduled"

    visits_flag_all(now=at("2026-03-09T00:00:00+01:00"))
    visit.refresh_from_db()
    assert visit.status == "open"
    assert not Alert.objects.filter(visit=visit).exists()

    visits_flag_all(now=at("2026-03-12T00:00:00+01:00"))
    visit.refresh_from_db()
    assert (visit.status, visit.flagged_at) == ("overdue", at("2026-03-12T00:00:00+01:00"))
    overdue = Alert.objects.get(visit=visit)
    assert overdue.kind == AlertKind.VISIT_OVERDUE
    assert overdue.occurred_at == at("2026-03-12T00:00:00+01:00")

    visits_flag_all(now=at("2026-03-13T23:59:59+01:00"))
    visit.refresh_from_db()
    assert visit.status == "overdue"

    visits_flag_all(now=at("2026-03-14T00:00:00+01:00"))
    visit.refresh_from_db()
    assert (visit.status, visit.flagged_at) == ("missed", at("2026-03-14T00:00:00+01:00"))
    missed = Alert.objects.get(visit=visit, kind=AlertKind.VISIT_MISSED)
    assert missed.occurred_at == visit.window_closes_at
    assert "2026-03-09 to 2026-03-13" in missed.message
    deviation = ProtocolDeviation.objects.get(visit=visit)
    assert (deviation.category, deviation.state, deviation.origin) == (
        "missed_visit",
        "draft",
        "automatic",
    )
    assert deviation.occurred_on == date(2026, 3, 13)
    record = visit.history.order_by("-history_id").first()
    assert record.history_user.username == "system"
    assert record.history_change_reason == "Window closed without a recorded visit"


def test_flag_is_dated_at_the_deadline_not_at_the_run(participant) -> None:
    # The job did not run for weeks; it catches up, and each flag carries its own deadline.
    visits_flag_all(now=at("2026-04-20T09:00:00+02:00"))
    missed = Visit.objects.filter(participant=participant, status="missed").order_by("visit_number")
    # Nothing was recorded for this participant, screening and Day 0 included.
    assert [v.code for v in missed] == ["SEL", "D0", "W1", "W4"]
    for visit in missed:
        assert visit.flagged_at == visit.window_closes_at
        assert (
            Alert.objects.get(visit=visit, kind="visit_missed").occurred_at
            == visit.window_closes_at
        )


def test_running_twice_changes_nothing_the_second_time(participant) -> None:
    now = at("2026-04-20T09:00:00+02:00")
    first = visits_flag_all(now=now)
    assert first.changed > 0
    counts = (Alert.objects.count(), ProtocolDeviation.objects.count(), len(mail.outbox))
    history = Visit.history.count()
    second = visits_flag_step(now=now)
    assert second.changed == 0
    visits_flag_all(now=now)
    assert (Alert.objects.count(), ProtocolDeviation.objects.count(), len(mail.outbox)) == counts
    assert Visit.history.count() == history


def test_alerts_are_emailed_once_to_site_staff(
    msvle, participant, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        visits_flag_all(now=at("2026-03-14T00:00:00+01:00"))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.to) == {msvle.coordinator.email, msvle.investigator.email}
    assert f"{participant.identifier}" in message.body
    assert "Visit W1 (Week 1) was not done within its window" in message.body
    with django_capture_on_commit_callbacks(execute=True):
        visits_flag_all(now=at("2026-03-14T00:05:00+01:00"))
    assert len(mail.outbox) == 1
    assert not Alert.objects.filter(emailed_at__isnull=True).exists()


def test_ended_participants_and_optional_visits(msvle, participant) -> None:
    from trials.services import participant_withdraw

    fu = participant.visits.get(code="FU52")
    assert fu.optional
    visits_flag_all(now=at("2027-04-01T09:00:00+02:00"))
    fu.refresh_from_db()
    assert fu.status == "missed"
    assert not Alert.objects.filter(visit=fu).exists()
    assert not ProtocolDeviation.objects.filter(visit=fu).exists()

    other = on_study_again(msvle)
    participant_withdraw(
        actor=msvle.coordinator,
        participant=other,
        reason="Moved",
        now=at("2026-03-05T09:00:00+01:00"),
    )
    visits_flag_all(now=at("2027-04-02T09:00:00+02:00"))
    assert set(other.visits.values_list("status", flat=True)) <= {"scheduled", "open", "completed"}


def on_study_again(team):
    from tests.world import on_study

    return on_study(team)


def test_a_failing_visit_is_deferred_and_logged_without_stopping_others(
    msvle, participant, caplog
) -> None:
    from tests.world import make_eligible
    from trials.services import participant_randomize
    from visits.services import participant_set_day0

    # A second participant at a site whose time zone has become unreadable: formatting its
    # visits fails for real, not through a mock.
    other = make_eligible(msvle, participant=None)
    other = participant_randomize(
        actor=msvle.coordinator, participant=other, now=at("2026-03-02T10:00:00+01:00")
    )
    other = participant_set_day0(
        actor=msvle.coordinator,
        participant=other,
        day0=date(2026, 3, 4),
        now=at("2026-03-02T10:00:00+01:00"),
    )
    from tests.factories import SiteFactory
    from trials.models import Participant, Site

    broken = SiteFactory(trial=msvle.trial, code="BR01", time_zone="Europe/Madrid")
    Participant.objects.filter(pk=other.pk).update(site=broken)
    Site.objects.filter(pk=broken.pk).update(time_zone="Nowhere/Atlantis")

    now = at("2026-03-14T00:00:00+01:00")
    result = visits_flag_all(now=now)
    good = w1(participant)
    bad = other.visits.get(code="W1")
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == "missed"
    assert bad.status != "missed"
    assert bad.pk in result.deferred
    assert bad.flag_deferred_until == now + timedelta(hours=1)
    assert "deferred" in caplog.text
    # Deferred visits wait; the next runs within the hour leave them alone.
    assert visits_flag_step(now=now + timedelta(minutes=5)).changed == 0


def test_late_recording_completes_with_deviation_and_resolves_alert(msvle, participant) -> None:
    visits_flag_all(now=at("2026-03-14T00:00:00+01:00"))
    visit = w1(participant)
    visit.refresh_from_db()
    assert visit.status == "missed"
    recorded = visit_record(
        actor=msvle.coordinator,
        visit=visit,
        actual_date=date(2026, 3, 16),
        now=at("2026-03-16T12:00:00+01:00"),
    )
    assert (recorded.status, recorded.out_of_window) == ("completed", True)
    alerts = Alert.objects.filter(visit=visit)
    assert {a.status for a in alerts} == {AlertStatus.RESOLVED}
    assert alerts.get(kind="visit_missed").resolution == "Visit recorded on 2026-03-16"
    assert (
        ProtocolDeviation.objects.filter(
            visit=visit, category="visit_window", source_key=f"visit_window:{visit.pk}"
        ).count()
        == 1
    )


@pytest.mark.parametrize(
    ("zone", "last_local_second", "midnight"),
    [
        # Madrid enters summer time at 02:00 on 29 March 2026.
        ("Europe/Madrid", "2026-03-29T23:59:59+02:00", "2026-03-30T00:00:00+02:00"),
        # Santiago leaves summer time on 5 April 2026 (00:00 -03 becomes 23:00 -04 on the 4th).
        ("America/Santiago", "2026-04-05T23:59:59-04:00", "2026-04-06T00:00:00-04:00"),
    ],
)
def test_missed_at_local_midnight_across_dst(msvle, zone, last_local_second, midnight) -> None:
    from tests.world import on_study
    from trials.models import Site

    Site.objects.filter(pk=msvle.site.pk).update(time_zone=zone)
    msvle.site.refresh_from_db()
    # Day 0 on 20 March: week 1 is 27 March, window 25 to 29 March; Santiago case shifted.
    day0 = date(2026, 3, 20) if zone == "Europe/Madrid" else date(2026, 3, 27)
    participant = on_study(msvle, day0=day0)
    visit = participant.visits.get(code="W1")
    assert visit.window_closes_at == at(midnight) - timedelta(days=0)
    visits_flag_all(now=at(last_local_second))
    visit.refresh_from_db()
    assert visit.status == "overdue"
    visits_flag_all(now=at(midnight))
    visit.refresh_from_db()
    assert visit.status == "missed"


def test_command_dry_run_changes_nothing_and_real_run_prints_changes(participant, capsys) -> None:
    import time_machine

    with time_machine.travel(at("2026-03-14T08:00:00+01:00"), tick=False):
        call_command("flag_visits", "--dry-run")
        out = capsys.readouterr().out
        assert f"missed   {participant.identifier} W1" in out
        assert "would change: " in out
        assert not Alert.objects.filter(visit=w1(participant)).exists()
        assert w1(participant).status != "missed"
        call_command("flag_visits")
        out = capsys.readouterr().out
        assert "changed: " in out
        assert w1(participant).status == "missed"


def _queries_of_one_step(msvle, participants: int) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.world import on_study

    for _ in range(participants):
        on_study(msvle, day0=date(2026, 3, 4))
    with CaptureQueriesContext(connection) as captured:
        result = visits_flag_step(now=at("2026-04-20T09:00:00+02:00"), limit=1000)
    return len(captured), len(result.missed)


def test_queries_of_a_step_do_not_grow_with_the_visits_it_flags(msvle) -> None:
    few_queries, few_missed = _queries_of_one_step(msvle, 1)
    Visit.objects.update(status="completed")
    many_queries, many_missed = _queries_of_one_step(msvle, 4)
    # Four times the participants, four times the visits flagged, and the same queries: the
    # batch is written set-based, its alerts and drafts and their e-mails included.
    assert (few_missed, many_missed) == (4, 16)
    assert many_queries == few_queries
    assert Alert.objects.filter(kind=AlertKind.VISIT_MISSED).count() == 20

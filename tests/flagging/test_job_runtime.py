"""The jobs at run time: two workers at once, a broker that is down, health, late SAE reports,
and a real worker and beat flagging a visit whose window closes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.db import close_old_connections, connection
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Alert
from assessments.models import ProtocolDeviation
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.selectors import system_health
from flagging.late_reports import late_reports_flag_all
from flagging.visits import visits_flag_all
from tests.processes import running, service_env, unique_queue, wait_until
from visits.models import Visit


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_two_workers_at_once_create_no_duplicates(
    msvle, django_capture_on_commit_callbacks
) -> None:
    from tests.world import on_study

    participants = [on_study(msvle) for _ in range(6)]
    now = at("2026-06-01T09:00:00+02:00")
    due = Visit.objects.filter(
        participant__in=participants,
        window_closes_at__lte=now,
        status__in=["scheduled", "open", "overdue"],
    ).count()
    assert due >= 30
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            # Small batches so that the two workers really interleave.
            visits_flag_all(now=now, limit=3)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    missed = Visit.objects.filter(participant__in=participants, status="missed")
    required = missed.filter(optional=False)
    assert missed.count() == due
    assert Alert.objects.filter(kind="visit_missed").count() == required.count()
    assert ProtocolDeviation.objects.filter(category="missed_visit").count() == required.count()
    # Every visit changed state once: one history row per change, not two.
    for visit in missed:
        assert visit.history.filter(status="missed").count() == 1
    # Every alert went out in exactly one e-mail.
    listed = [line for message in mail.outbox for line in message.body.splitlines() if line]
    assert len(listed) == len(set(listed)) == Alert.objects.count()
    assert Alert.objects.filter(kind="visit_overdue").count() == len(participants)


def test_web_and_data_entry_work_with_the_broker_down(msvle, participant, settings) -> None:
    # Nothing on this port: every broker connection is refused.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    client = APIClient()
    client.force_login(msvle.investigator)
    visit = participant.visits.get(code="W1")
    response = client.post(
        f"/api/v1/visits/{visit.pk}/record/", {"actual_date": "2026-03-11"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert client.get("/health/").json()["checks"]["broker"] == "unavailable"
    # When the broker is back the next run catches up on everything that came due meanwhile.
    settings.CELERY_BROKER_URL = "filesystem://"
    result = visits_flag_all(now=at("2026-04-20T09:00:00+02:00"))
    assert {Visit.objects.get(pk=pk).code for pk in result.missed} == {"SEL", "D0", "W4"}
    assert Visit.objects.get(pk=visit.pk).status == "completed"


def test_health_reports_the_last_job_run_and_warns_when_stale(participant, settings) -> None:
    settings.FLAG_INTERVAL_SECONDS = 60
    now = timezone.now()
    report = system_health(now=now)
    assert report["jobs"]["flag_visits"] == {"status": "never_seen", "last_run_at": None}
    visits_flag_all(now=now - timedelta(minutes=10))
    report = system_health(now=now)
    assert report["jobs"]["flag_visits"]["status"] == "stale"
    assert any("flag_visits" in warning for warning in report["warnings"])
    visits_flag_all(now=now)
    report = system_health(now=now)
    assert report["jobs"]["flag_visits"]["status"] == "ok"
    assert not [w for w in report["warnings"] if "flag_visits" in w]


def _sae(team, participant, *, awareness: datetime):
    return form_save(
        actor=team.coordinator,
        ftype=form_type("adverse_events"),
        participant=participant,
        data={
            "verbatim_term": "Pneumonia",
            "onset_date": "2026-04-01",
            "ongoing": True,
            "ctcae_grade": 3,
            "hospitalisation": True,
            "investigator_causality": "possible",
            "outcome": "recovering",
            "site_awareness_at": awareness,
        },
        now=awareness + timedelta(hours=1),
    )


def test_sae_not_reported_within_24_hours_is_flagged_late_once(msvle, participant) -> None:
    awareness = at("2026-04-02T10:00:00+02:00")
    ae = _sae(msvle, participant, awareness=awareness)
    assert late_reports_flag_all(now=awareness + timedelta(hours=23, minutes=59)) == 0
    assert late_reports_flag_all(now=awareness + timedelta(hours=24)) == 1
    alert = Alert.objects.get(adverse_event=ae)
    assert (alert.kind, alert.occurred_at) == ("sae_late", awareness + timedelta(hours=24))
    assert alert.site_id == participant.site_id
    assert late_reports_flag_all(now=awareness + timedelta(hours=30)) == 0
    assert Alert.objects.filter(adverse_event=ae).count() == 1


def test_reported_sae_is_not_flagged(msvle, participant) -> None:
    awareness = at("2026-04-02T10:00:00+02:00")
    ae = _sae(msvle, participant, awareness=awareness)
    form_save(
        actor=msvle.coordinator,
        ftype=form_type("adverse_events"),
        participant=participant,
        record_id=ae.pk,
        expected_version=ae.row_version,
        reason="SAE form faxed to sponsor",
        data={"sae_reported_at": awareness + timedelta(hours=5)},
        now=awareness + timedelta(hours=6),
    )
    assert late_reports_flag_all(now=awareness + timedelta(days=3)) == 0


def test_beat_schedules_the_jobs() -> None:
    from ecrf.celery import app

    schedule = app.conf.beat_schedule
    assert schedule["flag-visits"]["task"] == "visits.flag_visits"
    assert schedule["flag-late-reports"]["task"] == "safety.flag_late_reports"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_and_beat_flag_a_visit_whose_window_closes(msvle, tmp_path: Path) -> None:
    from tests.world import on_study

    today = timezone.now().date()
    participant = on_study(msvle, day0=today - timedelta(days=3))
    closing = timezone.now() + timedelta(seconds=4)
    # The week 1 visit's window closes a few seconds from now.
    Visit.objects.filter(participant=participant).exclude(code="W1").update(status="completed")
    Visit.objects.filter(participant=participant, code="W1").update(
        status="open", overdue_at=closing - timedelta(seconds=1), window_closes_at=closing
    )
    env = service_env(
        CELERY_QUEUE=unique_queue(), FLAG_INTERVAL_SECONDS="1", CELERY_HEARTBEAT_SECONDS="30"
    )
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"

    def flagged() -> bool:
        close_old_connections()
        return Visit.objects.filter(participant=participant, code="W1", status="missed").exists()

    with (
        running(["scripts/serve.sh", "worker"], env, worker_log),
        running(["scripts/serve.sh", "beat"], env, beat_log),
    ):
        wait_until(flagged, timeout=120, what="the job to flag the visit missed", log=worker_log)
    visit = Visit.objects.get(participant=participant, code="W1")
    assert visit.flagged_at == closing
    assert Alert.objects.filter(visit=visit, kind="visit_missed").count() == 1
    assert "visits.flag_visits" in worker_log.read_text()

"""/health/ reports database, broker and worker, 200 only when all are fine."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ecrf.selectors import WORKER_HEARTBEAT
from ecrf.services import heartbeat_record


def test_healthy_when_worker_heartbeat_is_fresh(client, db) -> None:
    heartbeat_record(name=WORKER_HEARTBEAT, now=timezone.now())
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}


def test_unhealthy_when_worker_never_ran(client, db) -> None:
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "never_seen"


def test_unhealthy_when_worker_heartbeat_is_stale(client, db, settings) -> None:
    settings.WORKER_STALE_AFTER_SECONDS = 60
    heartbeat_record(name=WORKER_HEARTBEAT, now=timezone.now() - timedelta(seconds=61))
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "stale"


def test_unhealthy_when_broker_is_down(client, db, settings) -> None:
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    heartbeat_record(name=WORKER_HEARTBEAT, now=timezone.now())
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unavailable"


def test_health_reveals_no_secrets_or_versions(client, db, settings) -> None:
    text = client.get("/health/").content.decode()
    for secret in (settings.SECRET_KEY, "version", "django", "password", "redis://", "postgres"):
        assert secret.lower() not in text.lower()

"""Reads for operational status: database, broker and worker health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from ecrf.models import Heartbeat

WORKER_HEARTBEAT = "worker"


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return "unavailable"
    return "ok"


def broker_status() -> str:
    from ecrf.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception:
        return "unavailable"
    return "ok"


def heartbeat_status(name: str, *, now: datetime, stale_after_seconds: int) -> dict[str, Any]:
    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        return {"status": "never_seen", "last_seen_at": None}
    age = (now - beat.last_seen_at).total_seconds()
    return {
        "status": "ok" if age <= stale_after_seconds else "stale",
        "last_seen_at": beat.last_seen_at.isoformat(),
    }


def system_health(*, now: datetime) -> dict[str, Any]:
    database = database_status()
    worker: dict[str, Any] = (
        heartbeat_status(
            WORKER_HEARTBEAT, now=now, stale_after_seconds=settings.WORKER_STALE_AFTER_SECONDS
        )
        if database == "ok"
        else {"status": "unknown", "last_seen_at": None}
    )
    checks = {"database": database, "broker": broker_status(), "worker": worker["status"]}
    jobs = job_status(now=now) if database == "ok" else {}
    warnings = [
        f"Job {name} has not run since {job['last_run_at'] or 'start-up'}."
        for name, job in jobs.items()
        if job["status"] != "ok"
    ]
    return {
        "status": "ok" if all(value == "ok" for value in checks.values()) else "unhealthy",
        "checks": checks,
        "worker_last_seen_at": worker["last_seen_at"],
        "jobs": jobs,
        "warnings": warnings,
    }


PERIODIC_JOBS = ("flag_visits", "flag_late_reports")


def job_status(*, now: datetime) -> dict[str, dict[str, Any]]:
    """When each periodic job last ran; stale after a few missed intervals."""
    stale_after = settings.FLAG_INTERVAL_SECONDS * settings.JOB_STALE_AFTER_INTERVALS
    result = {}
    for name in PERIODIC_JOBS:
        found = heartbeat_status(name, now=now, stale_after_seconds=stale_after)
        result[name] = {"status": found["status"], "last_run_at": found["last_seen_at"]}
    return result

"""Celery task of the exports app: run one queued export; tasks only call services."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from exports.services import export_run, exports_fail_stale
from exports.services.requests import RUN_EXPORT_TASK

# A large export may take long; the project's default limits suit short periodic jobs.
SOFT_TIME_LIMIT = settings.EXPORT_TASK_SOFT_TIME_LIMIT
HARD_TIME_LIMIT = SOFT_TIME_LIMIT + 120


@shared_task(
    name=RUN_EXPORT_TASK,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def run_export(export_id: int) -> str:
    """Run the export; a repeated delivery of the same task finds it claimed and does nothing."""
    export = export_run(export_id=export_id)
    return "skipped" if export is None else export.status


@shared_task(name="exports.fail_stale")
def fail_stale_exports() -> int:
    """Fail exports still running after their task's hard time limit: nothing runs them now."""
    return exports_fail_stale(
        now=timezone.now(), running_for=timedelta(seconds=HARD_TIME_LIMIT + 60)
    )

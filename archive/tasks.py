"""Celery task of the archive: run one queued site archive; tasks only call services."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from archive.services import RUN_SITE_ARCHIVE_TASK, site_archive_run, site_archives_fail_stale
from exports.tasks import HARD_TIME_LIMIT, SOFT_TIME_LIMIT


@shared_task(
    name=RUN_SITE_ARCHIVE_TASK, soft_time_limit=SOFT_TIME_LIMIT, time_limit=HARD_TIME_LIMIT
)
def run_site_archive(archive_id: int) -> str:
    """Run the archive; a repeated delivery finds it claimed and does nothing."""
    archive = site_archive_run(archive_id=archive_id)
    return "skipped" if archive is None else archive.status


@shared_task(name="archive.fail_stale")
def fail_stale_site_archives() -> int:
    """Fail site archives still running after their task's hard time limit: nothing runs
    them now."""
    return site_archives_fail_stale(
        now=timezone.now(), running_for=timedelta(seconds=HARD_TIME_LIMIT + 60)
    )

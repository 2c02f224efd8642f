"""Celery task of the archive: run one queued site archive; tasks only call services."""

from celery import shared_task

from archive.services import RUN_SITE_ARCHIVE_TASK, site_archive_run
from exports.tasks import HARD_TIME_LIMIT, SOFT_TIME_LIMIT


@shared_task(
    name=RUN_SITE_ARCHIVE_TASK, soft_time_limit=SOFT_TIME_LIMIT, time_limit=HARD_TIME_LIMIT
)
def run_site_archive(archive_id: int) -> str:
    """Run the archive; a repeated delivery finds it claimed and does nothing."""
    archive = site_archive_run(archive_id=archive_id)
    return "skipped" if archive is None else archive.status

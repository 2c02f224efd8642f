"""Periodic task: the review queue's stored counts refreshed for the participants marked stale."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from casebook.backlog import backlog_refresh_all


@shared_task(name="casebook.refresh_review_backlog")
def refresh_review_backlog() -> int:
    # Within the interval, so that two runs seldom overlap (they would skip each other's rows).
    return backlog_refresh_all(
        now=timezone.now(), budget_seconds=settings.REVIEW_BACKLOG_INTERVAL_SECONDS * 0.8
    )

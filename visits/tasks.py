"""Periodic task of the visits app: flag opened, overdue and missed visits."""

from celery import shared_task
from django.utils import timezone

from visits.flagging import visits_flag_all


@shared_task(name="visits.flag_visits")
def flag_visits() -> dict[str, int]:
    result = visits_flag_all(now=timezone.now())
    return {
        "opened": len(result.opened),
        "overdue": len(result.overdue),
        "missed": len(result.missed),
    }

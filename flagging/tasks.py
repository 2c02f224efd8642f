"""Periodic tasks: the visit job and the late-report job; tasks only call them."""

from celery import shared_task
from django.utils import timezone

from flagging.late_reports import late_reports_flag_all
from flagging.visits import visits_flag_all


# The task names are those the beat schedule and its database rows already use.
@shared_task(name="visits.flag_visits")
def flag_visits() -> dict[str, int]:
    result = visits_flag_all(now=timezone.now())
    return {
        "opened": len(result.opened),
        "overdue": len(result.overdue),
        "missed": len(result.missed),
    }


@shared_task(name="safety.flag_late_reports")
def flag_late_reports() -> int:
    return late_reports_flag_all(now=timezone.now())

"""Periodic task of the safety app: alert on late SAE and SUSAR reports."""

from celery import shared_task
from django.utils import timezone

from safety.flagging import late_reports_flag_all


@shared_task(name="safety.flag_late_reports")
def flag_late_reports() -> int:
    return late_reports_flag_all(now=timezone.now())

"""Periodic tasks of the project package; tasks only call services."""

from celery import shared_task
from django.utils import timezone

from ecrf.selectors import WORKER_HEARTBEAT
from ecrf.services import heartbeat_record


@shared_task(name="ecrf.tasks.record_heartbeat")
def record_heartbeat() -> None:
    heartbeat_record(name=WORKER_HEARTBEAT, now=timezone.now())

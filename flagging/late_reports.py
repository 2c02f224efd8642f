"""The late-report job: SAEs not reported to the sponsor within 24 hours of site awareness,
and SUSARs not reported within 7 or 15 days, each raised once as an alert dated at its
deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from accounts.services import system_actor
from alerts.models import Alert, AlertKind
from alerts.services import AlertSpec, alerts_email_pending, alerts_raise
from ecrf.services import heartbeat_record
from safety.models import AdverseEvent

JOB_NAME = "flag_late_reports"


def _late(kind: str, now: datetime) -> Any:
    raised = Alert.objects.filter(kind=kind).values("adverse_event_id")
    if kind == AlertKind.SAE_LATE:
        events = AdverseEvent.objects.filter(
            serious=True, sae_reported_at__isnull=True, sae_report_due_at__lte=now
        ).order_by("sae_report_due_at", "pk")
    else:
        events = AdverseEvent.objects.filter(
            susar=True, susar_reported_at__isnull=True, susar_due_at__lte=now
        ).order_by("susar_due_at", "pk")
    return events.exclude(pk__in=raised).select_related("participant")


def late_reports_flag_step(*, now: datetime, limit: int = 500, actor: Any = None) -> int:
    """One batch of overdue SAE or SUSAR reports turned into alerts; 0 when none is due."""
    actor = actor or system_actor()
    for kind in (AlertKind.SAE_LATE, AlertKind.SUSAR_LATE):
        with transaction.atomic():
            events = list(
                _late(kind, now).select_for_update(skip_locked=True, of=("self",))[:limit]
            )
            if not events:
                continue
            sae = kind == AlertKind.SAE_LATE
            alerts_raise(
                [
                    AlertSpec(
                        kind=kind,
                        source_key=f"{kind}:{event.pk}",
                        participant=event.participant,
                        adverse_event_id=event.pk,
                        occurred_at=(event.sae_report_due_at if sae else event.susar_due_at) or now,
                        message=(
                            f"SAE '{event.verbatim_term}' was not reported to the sponsor "
                            f"within 24 hours (due {event.sae_report_due_at:%Y-%m-%d %H:%M} UTC)."
                            if sae
                            else f"SUSAR '{event.verbatim_term}' expedited report is overdue "
                            f"(due {event.susar_due_at:%Y-%m-%d %H:%M} UTC)."
                        ),
                    )
                    for event in events
                ],
                actor=actor,
                now=now,
            )
            return len(events)
    return 0


def late_reports_flag_all(*, now: datetime, limit: int = 500) -> int:
    actor = system_actor()
    total = 0
    while count := late_reports_flag_step(now=now, limit=limit, actor=actor):
        total += count
    while alerts_email_pending(now=now):
        pass
    heartbeat_record(name=JOB_NAME, now=now)
    return total

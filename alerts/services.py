"""Writes for alerts: raise once per finding, acknowledge, resolve, and e-mail each alert once."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from alerts.models import Alert, AlertKind, AlertStatus
from ecrf.access import SITE_STAFF_ROLES, Role, require_role
from ecrf.audit import audited_save
from ecrf.errors import InvalidTransitionError
from trials.models import Membership, Participant

logger = logging.getLogger(__name__)
SPONSOR_KINDS = frozenset({AlertKind.SUSAR_LATE})


@dataclass(frozen=True)
class AlertSpec:
    kind: str
    source_key: str
    participant: Participant
    occurred_at: datetime
    message: str
    visit_id: int | None = None
    adverse_event_id: int | None = None


def alerts_raise(specs: list[AlertSpec], *, actor: Any, now: datetime) -> list[Alert]:
    """Create the alerts not raised before; a finding raised twice stays one alert."""
    if not specs:
        return []
    existing = set(
        Alert.objects.filter(source_key__in=[s.source_key for s in specs]).values_list(
            "source_key", flat=True
        )
    )
    new = [
        Alert(
            trial_id=spec.participant.trial_id,
            site_id=spec.participant.site_id,
            participant=spec.participant,
            visit_id=spec.visit_id,
            adverse_event_id=spec.adverse_event_id,
            kind=spec.kind,
            source_key=spec.source_key,
            occurred_at=spec.occurred_at,
            created_at=now,
            message=spec.message,
        )
        for spec in specs
        if spec.source_key not in existing
    ]
    return bulk_create_with_history(
        new, Alert, default_user=actor, default_change_reason="Raised by job"
    )


def alerts_resolve(*, actor: Any, alerts: Any, resolution: str, now: datetime) -> int:
    """Resolve open or acknowledged alerts because the data now answer them."""
    count = 0
    for alert in alerts.select_for_update().exclude(status=AlertStatus.RESOLVED):
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        alert.resolution = resolution
        audited_save(alert, actor=actor, reason=resolution)
        count += 1
    return count


def alert_acknowledge(*, actor: Any, alert: Alert, now: datetime) -> Alert:
    roles: frozenset[str] = (
        SITE_STAFF_ROLES if alert.kind not in SPONSOR_KINDS else frozenset({Role.MEDICAL_MONITOR})
    )
    require_role(
        actor, trial=alert.trial, site=alert.site, roles=roles, action="acknowledge alerts"
    )
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.status == AlertStatus.RESOLVED:
            raise InvalidTransitionError("This alert is already resolved.")
        if locked.status == AlertStatus.ACKNOWLEDGED:
            return locked
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_by = actor
        locked.acknowledged_at = now
        return audited_save(locked, actor=actor, reason="Acknowledged")


def _recipients(alert: Alert) -> list[str]:
    memberships = Membership.objects.active().filter(trial_id=alert.trial_id)
    if alert.kind in SPONSOR_KINDS:
        memberships = memberships.filter(role=Role.MEDICAL_MONITOR)
    else:
        memberships = memberships.filter(role__in=SITE_STAFF_ROLES, site_id=alert.site_id)
    return sorted(set(memberships.exclude(user__email="").values_list("user__email", flat=True)))


def alerts_email_pending(*, now: datetime, limit: int = 500) -> int:
    """E-mail alerts not yet e-mailed, one message per recipient group.

    An alert is marked e-mailed in the same transaction that picks it (skipping rows another
    worker holds), and the message leaves after commit: at most once, never twice.
    """
    with transaction.atomic():
        pending = list(
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(emailed_at__isnull=True)
            .select_related("participant", "site", "trial")
            .order_by("created_at", "pk")[:limit]
        )
        if not pending:
            return 0
        Alert.objects.filter(pk__in=[a.pk for a in pending]).update(emailed_at=now)
        groups: dict[tuple[str, ...], list[Alert]] = defaultdict(list)
        for alert in pending:
            recipients = tuple(_recipients(alert))
            if recipients:
                groups[recipients].append(alert)
        transaction.on_commit(lambda: _send(groups))
    return len(pending)


def _send(groups: dict[tuple[str, ...], list[Alert]]) -> None:
    for recipients, alerts in groups.items():
        first = alerts[0]
        lines = [
            f"- {a.get_kind_display()}: {a.participant.identifier} — {a.message}" for a in alerts
        ]
        try:
            send_mail(
                subject=(
                    f"[{first.trial.code}] {len(alerts)} new alert(s) for site {first.site.code}"
                ),
                message="\n".join(lines) + "\n",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=list(recipients),
            )
        except Exception:
            # Marked as e-mailed already: losing a message is logged, never sent twice.
            logger.exception("Alert e-mail to %s failed", ", ".join(recipients))

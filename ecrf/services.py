"""Writes for operational records."""

from __future__ import annotations

from datetime import datetime

from ecrf.models import Heartbeat


def heartbeat_record(*, name: str, now: datetime) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen_at": now})

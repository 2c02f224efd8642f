"""Automatic protocol deviations drafted by jobs and services, once per finding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from simple_history.utils import bulk_create_with_history

from assessments.models import ProtocolDeviation
from assessments.models.deviation import DeviationState, Origin
from visits.models import Visit


@dataclass(frozen=True)
class DeviationSpec:
    visit: Visit
    category: str
    source_key: str
    occurred_on: date
    description: str


def deviations_draft(
    specs: list[DeviationSpec], *, actor: Any, now: datetime
) -> list[ProtocolDeviation]:
    """Draft deviations for staff to confirm; a finding already drafted is not drafted again."""
    if not specs:
        return []
    existing = set(
        ProtocolDeviation.objects.filter(source_key__in=[s.source_key for s in specs]).values_list(
            "source_key", flat=True
        )
    )
    new = [
        ProtocolDeviation(
            participant_id=spec.visit.participant_id,
            visit=spec.visit,
            protocol_version_id=spec.visit.protocol_version_id,
            entered_at=now,
            updated_at=now,
            occurred_on=spec.occurred_on,
            category=spec.category,
            description=spec.description,
            origin=Origin.AUTOMATIC,
            state=DeviationState.DRAFT,
            source_key=spec.source_key,
        )
        for spec in specs
        if spec.source_key not in existing
    ]
    return bulk_create_with_history(
        new,
        ProtocolDeviation,
        default_user=actor,
        default_change_reason="Drafted automatically",
    )

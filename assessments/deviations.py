"""Automatic protocol deviations drafted by jobs and services, once per finding."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import F, Q, QuerySet
from simple_history.utils import bulk_create_with_history

from assessments.models import ProtocolDeviation
from assessments.models.deviation import DeviationState, Origin
from ecrf.bulk import Stamp, insert_from
from ecrf.messages import Text, stored_fields
from visits.models import Visit

DRAFTED = "Drafted automatically"


@dataclass(frozen=True)
class DeviationSpec:
    visit: Visit
    category: str
    source_key: str
    occurred_on: date
    # A Text is kept in English with its template, to be worded in the reader's language.
    description: str | Text


def deviations_draft(
    specs: list[DeviationSpec], *, actor: Any, now: datetime
) -> list[ProtocolDeviation]:
    """Draft deviations for staff to confirm; a finding already drafted is not drafted again."""
    if not specs:
        return []
    # Looked up as the unique constraint holds them: by participant and source key.
    found = Q(pk__in=[])
    for spec in specs:
        found |= Q(participant_id=spec.visit.participant_id, source_key=spec.source_key)
    existing = set(
        ProtocolDeviation.objects.filter(found)
        .order_by()
        .values_list("participant_id", "source_key")
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
            **stored_fields("description", spec.description),
            origin=Origin.AUTOMATIC,
            state=DeviationState.DRAFT,
            source_key=spec.source_key,
        )
        for spec in specs
        if (spec.visit.participant_id, spec.source_key) not in existing
    ]
    return bulk_create_with_history(
        new, ProtocolDeviation, default_user=actor, default_change_reason=DRAFTED, default_date=now
    )


def deviations_draft_from(
    visits: QuerySet[Visit], values: Mapping[str, Any], *, actor: Any, now: datetime
) -> list[int]:
    """`deviations_draft` for many visits at once: one draft per visit, its category,
    source_key, occurred_on and description (with its description_template and
    description_params) set to `values` (expressions over the visit),
    written with their history by one statement whatever their number. A finding drafted
    before, or by another worker at the same time, is skipped; the new drafts' ids are
    returned."""
    rows = insert_from(
        ProtocolDeviation,
        visits,
        {
            "participant_id": F("participant_id"),
            "visit_id": F("pk"),
            "protocol_version_id": F("protocol_version_id"),
            "entered_at": now,
            "updated_at": now,
            "origin": Origin.AUTOMATIC,
            "state": DeviationState.DRAFT,
            **values,
        },
        stamp=Stamp(actor=actor, reason=DRAFTED, now=now),
    )
    return [row[0] for row in rows]

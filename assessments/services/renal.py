"""Renal responses kept in step with the baseline and the medication log they are read from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assessments.models import EntryStatus, RenalAssessment
from assessments.rules.renal import response_values
from ecrf.audit import audited_save
from trials.definitions import definition_of
from trials.models import Participant


def renal_responses_recompute(
    *,
    participant: Participant,
    actor: Any,
    now: datetime,
    reason: str,
    exclude_pk: int | None = None,
) -> list[RenalAssessment]:
    """Derive again the response of every renal assessment of the participant and save, with
    `reason` and a new version, those whose response changed. Running it twice changes
    nothing the second time."""
    changed = []
    assessments = (
        RenalAssessment.objects.select_for_update()
        .filter(participant=participant, entry_status=EntryStatus.ENTERED)
        .order_by("assessment_date", "pk")
    )
    if exclude_pk is not None:
        assessments = assessments.exclude(pk=exclude_pk)
    for assessment in assessments:
        assessment.participant = participant
        values = response_values(assessment, definition_of(assessment.protocol_version))
        if all(getattr(assessment, name) == value for name, value in values.items()):
            continue
        for name, value in values.items():
            setattr(assessment, name, value)
        assessment.row_version += 1
        assessment.updated_at = now
        changed.append(audited_save(assessment, actor=actor, reason=reason, require_reason=True))
    return changed

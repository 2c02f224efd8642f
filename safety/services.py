"""Writes for adverse events beyond the form: recording that a report reached its addressee."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assessments.services import form_save
from ecrf.errors import InvalidTransitionError
from safety.models import AdverseEvent
from safety.rules import ADVERSE_EVENTS


def _mark(
    *, actor: Any, ae: AdverseEvent, field: str, at: datetime, reason: str, now: datetime
) -> AdverseEvent:
    # The version the caller read guards against recording over someone else's follow-up.
    saved: AdverseEvent = form_save(
        actor=actor,
        ftype=ADVERSE_EVENTS,
        participant=ae.participant,
        record_id=ae.pk,
        expected_version=ae.row_version,
        data={field: at},
        reason=reason,
        now=now,
    )
    return saved


def sae_mark_reported(
    *, actor: Any, ae: AdverseEvent, reported_at: datetime, now: datetime
) -> AdverseEvent:
    """Site staff record when their SAE report reached the sponsor."""
    if not ae.serious:
        raise InvalidTransitionError("Only a serious adverse event is reported as an SAE.")
    if ae.sae_reported_at is not None:
        raise InvalidTransitionError(
            f"The SAE report was recorded as sent at {ae.sae_reported_at:%Y-%m-%d %H:%M} UTC; "
            "correct it on the form, with a reason."
        )
    return _mark(
        actor=actor,
        ae=ae,
        field="sae_reported_at",
        at=reported_at,
        reason="SAE report sent to the sponsor",
        now=now,
    )


def susar_mark_reported(
    *, actor: Any, ae: AdverseEvent, reported_at: datetime, now: datetime
) -> AdverseEvent:
    """The medical monitor records when the expedited SUSAR report was submitted."""
    if not ae.susar:
        raise InvalidTransitionError("The event is not a SUSAR; there is no expedited report.")
    if ae.susar_reported_at is not None:
        raise InvalidTransitionError(
            "The SUSAR report was recorded as submitted at "
            f"{ae.susar_reported_at:%Y-%m-%d %H:%M} UTC; correct it on the form, with a reason."
        )
    return _mark(
        actor=actor,
        ae=ae,
        field="susar_reported_at",
        at=reported_at,
        reason="SUSAR expedited report submitted",
        now=now,
    )

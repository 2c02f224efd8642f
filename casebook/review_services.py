"""What the review desk records beside review state: the read of the arm an audit trail shows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from assessments.blinding import revealing_read_record
from casebook.catalogue import form_type
from trials.models import Participant


def audit_trail_shown(
    *, user: Any, participant: Participant, rows: Iterable[Any], path: str, now: datetime
) -> None:
    """An audit trail about to be shown holds allocation-revealing changes (only an unblinded
    reader is given them): record the read of the arm, once for the request."""
    revealed = sorted({row.form_code for row in rows if row.revealing})
    if revealed:
        revealing_read_record(
            user=user,
            participant=participant,
            ftypes=[form_type(code) for code in revealed],
            path=path,
            now=now,
        )

"""The record of arm reads through the allocation-revealing fields of a participant's forms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from assessments.forms_kit import FormType
from assessments.selectors import form_unblinding, revealing_fields
from trials.models import AllocationRead, Participant, ReadChannel
from trials.services import arm_read_record


def revealing_read_record(
    *,
    user: Any,
    participant: Participant,
    ftypes: Iterable[FormType],
    path: str = "",
    now: datetime,
) -> AllocationRead | None:
    """Record that `user` was shown the allocation-revealing fields of `participant`'s forms
    of `ftypes` in this request: one arm read, on the blinding gate's ground. Nothing is
    recorded for a blinded reader (who was shown none) or forms that reveal nothing."""
    if not any(revealing_fields(ftype, participant) for ftype in ftypes):
        return None
    access = form_unblinding(user, participant, now=now)
    if access is None:
        return None
    return arm_read_record(
        user=user,
        participant=participant,
        access=access,
        channel=ReadChannel.FORM,
        path=path,
        now=now,
    )

"""Refuse a signature or a lock over records that are not complete yet."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from ecrf.errors import DomainError


class NotReadyError(DomainError):
    code = "incomplete"


# A site or trial lock may find many records lacking something: the message names this many
# and counts the rest.
SHOWN = 10


def require_ready(
    *,
    action: str,
    participant: Any = None,
    record: Any = None,
    visit: Any = None,
    participants: Any = None,
) -> None:
    """Raise NotReadyError naming what the covered records lack: those of one record, visit or
    participant, or of all `participants` (a site or trial lock). The forms live above review,
    so their checks are reached through the REVIEW_READY_CHECK setting."""
    check = import_string(settings.REVIEW_READY_CHECK)
    problems: list[str] = check(
        participant=participant, record=record, visit=visit, participants=participants
    )
    if problems:
        rest = len(problems) - SHOWN
        more = [f"And {rest} more."] if rest > 0 else []
        raise NotReadyError(f"This cannot be {action} yet. " + " ".join(problems[:SHOWN] + more))

"""Refuse a signature or a lock over records that are not complete yet."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from ecrf.errors import DomainError


class NotReadyError(DomainError):
    code = "incomplete"


def require_ready(*, action: str, participant: Any, record: Any = None, visit: Any = None) -> None:
    """Raise NotReadyError naming what the covered records lack. The forms live above review,
    so their checks are reached through the REVIEW_READY_CHECK setting."""
    check = import_string(settings.REVIEW_READY_CHECK)
    problems: list[str] = check(participant=participant, record=record, visit=visit)
    if problems:
        raise NotReadyError(f"This cannot be {action} yet. " + " ".join(problems))

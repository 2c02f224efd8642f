"""Whether the records a signature or a lock would cover are complete enough: each form type
says what one of its records still lacks (`FormType.ready_to_sign`); review asks here, by the
name in the REVIEW_READY_CHECK setting."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from assessments.forms_kit import FormType
from assessments.models.base import EntryStatus
from casebook.catalogue import CATALOGUE

_NO_CHECK = next(f.default for f in fields(FormType) if f.name == "ready_to_sign")


def _sentence(ftype: FormType, record: Any, missing: list[str], *, whose: bool) -> str:
    listed = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
    owner = f"Participant {record.participant.identifier}: " if whose else ""
    return f"{owner}{ftype.label} '{record}' lacks {listed}."


def records_not_ready(
    *, participant: Any = None, record: Any = None, visit: Any = None, participants: Any = None
) -> list[str]:
    """One sentence per entered record that is not ready: `record` alone when named, else the
    records of `visit` when named, else all the participant's, else (a site or trial lock) all
    those of `participants`, each sentence naming its participant."""
    checked = [ftype for ftype in CATALOGUE if ftype.ready_to_sign is not _NO_CHECK]
    problems = []
    for ftype in checked:
        if record is not None:
            records = [record] if isinstance(record, ftype.model) else []
        else:
            queryset = ftype.model._default_manager.filter(entry_status=EntryStatus.ENTERED)
            if participants is not None:
                queryset = queryset.filter(participant__in=participants)
            else:
                queryset = queryset.filter(participant=participant)
            if visit is not None:
                queryset = queryset.filter(visit=visit)
            records = list(queryset.select_related("participant").order_by("participant", "pk"))
        for each in records:
            if each.entry_status == EntryStatus.ENTERED and (missing := ftype.ready_to_sign(each)):
                problems.append(_sentence(ftype, each, missing, whose=participants is not None))
    return problems

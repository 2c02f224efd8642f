"""Reads of coding: the current release of a dictionary, the records still to code, a search
of the dictionary, and one record with its coding and that coding's history."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from assessments.models import ConcomitantMedication
from assessments.models.base import EntryStatus
from coding.distribution import match_key
from coding.models import CodedKind, Coding, Dictionary, DictionaryVersion, DrugTerm, MeddraTerm
from ecrf.access import CODING_ROLES
from safety.models import AdverseEvent
from trials.access import scope_queryset
from trials.models import Trial

DICTIONARY_OF: dict[str, str] = {
    CodedKind.ADVERSE_EVENT: Dictionary.MEDDRA,
    CodedKind.MEDICATION: Dictionary.WHODRUG,
}
SEARCH_LIMIT = 50


def current_version(dictionary: str) -> DictionaryVersion | None:
    """The release new codes are taken from: the one loaded last."""
    return (
        DictionaryVersion.objects.filter(dictionary=dictionary)
        .order_by("-loaded_at", "-pk")
        .first()
    )


def coded_records(user: Any, trial: Trial, kind: str) -> QuerySet[Any]:
    """The entered adverse events or medications of `trial` that `user` may code."""
    model = AdverseEvent if kind == CodedKind.ADVERSE_EVENT else ConcomitantMedication
    verbatim = "verbatim_term" if kind == CodedKind.ADVERSE_EVENT else "medication"
    rows = model.objects.filter(participant__trial=trial, entry_status=EntryStatus.ENTERED).exclude(
        **{verbatim: ""}
    )
    rows = scope_queryset(
        rows,
        user,
        trial_field="participant__trial",
        site_field="participant__site",
        roles=CODING_ROLES,
    )
    return rows.select_related("participant", "participant__site").order_by(
        "participant__site__code", "participant_id", "pk"
    )


def uncoded(user: Any, trial: Trial, kind: str) -> QuerySet[Any]:
    """The records of `trial` whose reported term has no code: never coded, or changed by
    the site since it was coded."""
    verbatim = "verbatim_term" if kind == CodedKind.ADVERSE_EVENT else "medication"
    return coded_records(user, trial, kind).exclude(
        Exists(
            Coding.objects.filter(kind=kind, record_id=OuterRef("pk"), verbatim=OuterRef(verbatim))
        )
    )


def dictionary_search(kind: str, text: str) -> list[MeddraTerm] | list[DrugTerm]:
    """Terms of the current release whose name contains `text`, exact matches first."""
    version = current_version(DICTIONARY_OF[kind])
    key = match_key(text)
    if version is None or len(key) < 2:
        return []
    model: Any = MeddraTerm if kind == CodedKind.ADVERSE_EVENT else DrugTerm
    found = list(model.objects.filter(version=version, match_key__contains=key)[:SEARCH_LIMIT])
    found.sort(key=lambda term: (term.match_key != key, term.match_key))
    return found


def record_coding(kind: str, record_id: int) -> Coding | None:
    return (
        Coding.objects.select_related("version", "coded_by")
        .filter(kind=kind, record_id=record_id)
        .first()
    )


def coding_history(coding: Coding | None) -> list[Any]:
    """Every version of the record's coding, newest first, with who and why."""
    if coding is None:
        return []
    return list(coding.history.order_by("-history_date", "-history_id"))  # type: ignore[attr-defined]

"""Writes of coding: loading a dictionary release, coding a record by hand or by exact match,
recoding with a reason, and asking the site about a term that cannot be coded."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from assessments.models import ConcomitantMedication
from coding.distribution import match_key, read_meddra, read_whodrug
from coding.models import (
    CodedKind,
    Coding,
    CodingMethod,
    Dictionary,
    DictionaryVersion,
    DrugTerm,
    MeddraTerm,
)
from coding.selectors import DICTIONARY_OF, current_version, uncoded
from ecrf.access import CODING_ROLES
from ecrf.audit import audited_save
from ecrf.errors import DomainError
from review.models import DataQuery
from review.services.queries import query_open
from safety.models import AdverseEvent
from trials.access import require_role
from trials.models import Trial

MODELS: dict[str, Any] = {
    CodedKind.ADVERSE_EVENT: AdverseEvent,
    CodedKind.MEDICATION: ConcomitantMedication,
}
VERBATIM: dict[str, str] = {
    CodedKind.ADVERSE_EVENT: "verbatim_term",
    CodedKind.MEDICATION: "medication",
}
BATCH = 2000


def dictionary_load(
    *, dictionary: str, folder: Path, version: str, actor: Any, now: datetime
) -> DictionaryVersion:
    """Load the release `version` of `dictionary` from its distribution files in `folder`;
    a release already loaded, or files of another or of mixed releases, are refused."""
    if DictionaryVersion.objects.filter(dictionary=dictionary, version=version).exists():
        raise DomainError(f"{Dictionary(dictionary).label} {version} is already loaded.")
    language = ""
    terms: list[Any]
    if dictionary == Dictionary.MEDDRA:
        language, llts = read_meddra(folder, version)
        terms = [MeddraTerm(match_key=match_key(t.llt_name), **asdict(t)) for t in llts]
    elif dictionary == Dictionary.WHODRUG:
        terms = [DrugTerm(match_key=match_key(d.name), **asdict(d)) for d in read_whodrug(folder)]
    else:
        raise DomainError(f"There is no dictionary {dictionary!r}.")
    if not terms:
        raise DomainError("The files hold no terms.")
    with transaction.atomic():
        loaded = DictionaryVersion.objects.create(
            dictionary=dictionary,
            version=version,
            language=language,
            loaded_at=now,
            loaded_by=actor,
            term_count=len(terms),
        )
        for term in terms:
            term.version = loaded
        type(terms[0]).objects.bulk_create(terms, batch_size=BATCH)
    return loaded


def _path_fields(kind: str, term: Any) -> dict[str, str]:
    if kind == CodedKind.ADVERSE_EVENT:
        return {
            "code": term.llt_code,
            "term": term.llt_name,
            **{
                f"{level}_{part}": getattr(term, f"{level}_{part}")
                for level in ("pt", "hlt", "hlgt", "soc")
                for part in ("code", "name")
            },
        }
    return {
        "code": term.drug_code,
        "term": term.name,
        "preferred_name": term.preferred_name,
        "atc_code": term.atc_code,
    }


def _copy_to_record(record: Any, coding: Coding, actor: Any, reason: str, now: datetime) -> None:
    """Keep the coded columns of the form, which the datasets and as-of exports read, equal
    to the coding; the form's version moves on so that an edit begun before is refused."""
    version = str(coding.version)
    if coding.kind == CodedKind.ADVERSE_EVENT:
        values = {
            "llt_code": coding.code,
            "llt_name": coding.term,
            "pt_code": coding.pt_code,
            "pt_name": coding.pt_name,
            "soc_code": coding.soc_code,
            "soc_name": coding.soc_name,
            "dictionary_version": version,
        }
    else:
        values = {
            "coded_term": coding.preferred_name,
            "coded_code": coding.code,
            "dictionary_version": version,
        }
    for name, value in values.items():
        setattr(record, name, value)
    record.row_version += 1
    record.updated_at = now
    audited_save(
        record,
        actor=actor,
        reason=reason,
        update_fields=[*values, "row_version", "updated_at"],
    )


def _locked_record(kind: str, record_id: int) -> Any:
    return MODELS[kind].objects.select_for_update().select_related("participant").get(pk=record_id)


def coding_assign(
    *,
    actor: Any,
    kind: str,
    record: Any,
    term: MeddraTerm | DrugTerm,
    reason: str = "",
    now: datetime,
    method: str = CodingMethod.MANUAL,
) -> Coding:
    """Code `record` with `term` of the current release; a record already coded is recoded
    only with a reason, and the history keeps the earlier code."""
    participant = record.participant
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=CODING_ROLES,
        action=gettext_noop("code reported terms"),
    )
    version = current_version(DICTIONARY_OF[kind])
    if version is None or term.version_id != version.pk:
        raise DomainError("Code with a term of the current dictionary release.")
    with transaction.atomic():
        record = _locked_record(kind, record.pk)
        verbatim = getattr(record, VERBATIM[kind])
        if not verbatim.strip():
            raise DomainError("The record has no reported term to code.")
        coding = Coding.objects.select_for_update().filter(kind=kind, record_id=record.pk).first()
        if coding is not None and not reason.strip():
            raise DomainError("Give the reason for recoding.", fields={"reason": ["Required."]})
        if coding is None:
            coding = Coding(
                trial_id=participant.trial_id,
                participant=participant,
                kind=kind,
                record_id=record.pk,
            )
        for name, value in _path_fields(kind, term).items():
            setattr(coding, name, value)
        coding.verbatim, coding.version, coding.method = verbatim, version, method
        coding.coded_by, coding.coded_at = actor, now
        said = reason.strip() or (
            "Exact match of the reported term" if method == CodingMethod.AUTOMATIC else "Coded"
        )
        audited_save(coding, actor=actor, reason=said, require_reason=False)
        _copy_to_record(record, coding, actor, f"Dictionary coding: {said}", now)
        return coding


def coding_autocode(*, actor: Any, trial: Trial, now: datetime) -> int:
    """Code every uncoded record of `trial` whose reported term matches one dictionary entry
    exactly (case and surrounding spaces aside); return how many were coded. Running it
    again codes nothing new."""
    require_role(actor, trial=trial, roles=CODING_ROLES, action=gettext_noop("code reported terms"))
    done = 0
    for kind in CodedKind.values:
        version = current_version(DICTIONARY_OF[kind])
        if version is None:
            continue
        term_model = MeddraTerm if kind == CodedKind.ADVERSE_EVENT else DrugTerm
        records = list(uncoded(actor, trial, kind))
        keys = {match_key(getattr(r, VERBATIM[kind])) for r in records}
        by_key: dict[str, list[Any]] = {}
        for term in term_model.objects.filter(version=version, match_key__in=keys):
            by_key.setdefault(term.match_key, []).append(term)
        # Records coded before the site changed their reported term are recoded.
        recoded = set(
            Coding.objects.filter(kind=kind, record_id__in=[r.pk for r in records]).values_list(
                "record_id", flat=True
            )
        )
        for record in records:
            verbatim = getattr(record, VERBATIM[kind])
            found = by_key.get(match_key(verbatim), [])
            # An LLT no longer current is not chosen by a machine; two entries are ambiguous.
            usable = [t for t in found if getattr(t, "current", True)]
            if len(usable) == 1:
                coding_assign(
                    actor=actor,
                    kind=kind,
                    record=record,
                    term=usable[0],
                    reason=f"The reported term changed to {verbatim.strip()!r}; exact match"
                    if record.pk in recoded
                    else "",
                    now=now,
                    method=CodingMethod.AUTOMATIC,
                )
                done += 1
    return done


def coding_query_site(
    *, actor: Any, ftype: Any, record: Any, text: str, now: datetime
) -> DataQuery:
    """Ask the site about a reported term no dictionary entry fits: a query on the term."""
    kind = ftype.code
    if kind not in VERBATIM:
        raise DomainError("Only adverse events and medications are coded.")
    return query_open(
        actor=actor, ftype=ftype, record=record, field_name=VERBATIM[kind], text=text, now=now
    )

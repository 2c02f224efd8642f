"""Eligibility answers checked against the entered forms: each criterion with `sources:` in
the protocol definition is contradicted by them, agrees with them, or cannot be verified yet.

The confirmation service (trials) calls `eligibility_source_checks` through the
ELIGIBILITY_SOURCE_CHECK setting, since trials sits below the forms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from assessments.models import (
    EntryStatus,
    LabResults,
    MedicalHistory,
    RenalAssessment,
    SledaiAssessment,
)
from assessments.rules.common import show
from trials.definitions import definition_of
from trials.models import Participant
from trials.protocol.model import Criterion, CriterionSource

FORM_MODELS: dict[str, Any] = {
    "sledai2k": SledaiAssessment,
    "renal": RenalAssessment,
    "labs": LabResults,
    "medical_history": MedicalHistory,
}
# How a value is named in a sentence; a field not listed uses its model's label.
FIELD_LABELS = {
    ("sledai2k", "total"): "SLEDAI-2K total",
    ("renal", "upcr_g_g"): "UPCR",
    ("renal", "egfr"): "eGFR",
    ("renal", "urine_rbc_hpf"): "urine red cell count per hpf",
    ("renal", "urine_wbc_hpf"): "urine white cell count per hpf",
    ("labs", "ana_titre"): "ANA titre",
    ("labs", "hiv_result"): "HIV serology",
    ("labs", "hbsag_result"): "HBsAg",
    ("labs", "anti_hbc_result"): "anti-HBc",
    ("labs", "hcv_result"): "HCV serology",
    ("labs", "tb_result"): "tuberculosis test",
    ("labs", "anti_hla_result"): "anti-HLA antibody result",
    ("medical_history", "isn_rps_class"): "biopsy class",
    ("medical_history", "biopsy_months_before_selection"): "biopsy age",
}
TITRE_FIELDS = {("labs", "ana_titre")}
PHRASES = {">=": "at least", ">": "more than", "<=": "at most", "<": "below", "==": ""}

CONTRADICTED = "contradicted"
UNVERIFIED = "unverified"
VERIFIED = "verified"


def _titre(value: Any) -> int:
    """80 from "1:80" or 80."""
    text = str(value)
    return int(text.split(":", 1)[1]) if ":" in text else int(text)


def _comparable(source: CriterionSource, value: Any) -> Any:
    if (source.form, source.field) in TITRE_FIELDS:
        return _titre(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _holds(source: CriterionSource, value: Any) -> bool:
    if source.op == "in":
        return str(value) in {str(item) for item in source.value}
    if source.op == "==":
        return str(value) == str(source.value)
    left, right = _comparable(source, value), _comparable(source, source.value)
    return bool(
        {
            ">=": left >= right,
            ">": left > right,
            "<=": left <= right,
            "<": left < right,
        }[source.op]
    )


def _shown(source: CriterionSource, value: Any) -> str:
    if (source.form, source.field) in TITRE_FIELDS:
        return f"1:{_titre(value)}"
    # A derived value such as a UPCR kept to 10 decimals is shown to 2.
    text = show(value.quantize(Decimal("0.01"))) if isinstance(value, Decimal) else str(value)
    return f"{text} {source.unit}".strip()


def _limit(source: CriterionSource) -> str:
    if source.op == "in":
        return "one of " + ", ".join(str(item) for item in source.value)
    return f"{PHRASES[source.op]} {_shown(source, source.value)}".strip()


def _label(source: CriterionSource) -> str:
    found = FIELD_LABELS.get((source.form, source.field))
    if found:
        return found
    model = FORM_MODELS[source.form]
    return str(model._meta.get_field(source.field).verbose_name)


def _answer_words(kind: str, answer: bool) -> str:
    if kind == "inclusion":
        return "met" if answer else "not met"
    return "applying" if answer else "not applying"


def _source_value(participant: Participant, source: CriterionSource) -> tuple[Any, str]:
    """The entered value and the name of the visit it was read at (None when missing)."""
    visit = participant.visits.filter(code=source.visit).first()
    name = visit.name.lower() if visit is not None else source.visit
    if visit is None:
        return None, name
    record = (
        FORM_MODELS[source.form]
        .objects.filter(visit=visit, entry_status=EntryStatus.ENTERED)
        .only(source.field)
        .first()
    )
    value = getattr(record, source.field) if record is not None else None
    return (None if value in (None, "") else value), name


def criterion_check(
    participant: Participant, criterion: Criterion, kind: str, answer: bool
) -> dict[str, Any]:
    """The verification of one answer: its status and, unless verified, a sentence."""
    words = _answer_words(kind, answer)
    title = f"{kind.capitalize()} {criterion.number} answered {words}"
    missing: list[str] = []
    for source in criterion.sources:
        value, visit_name = _source_value(participant, source)
        label = _label(source)
        if value is None:
            missing.append(f"the {visit_name} {label}")
            continue
        holds = _holds(source, value)
        implies: bool | None
        if source.mode == "necessary":
            implies = False if not holds else None
        elif source.mode == "sufficient":
            implies = True if holds else None
        else:
            implies = holds
        if implies is not None and implies != answer:
            if kind == "inclusion":
                needs = f"needs {_limit(source)}"
            else:
                needs = f"it applies when {_limit(source)}"
            return {
                "status": CONTRADICTED,
                "sentence": (
                    f"{title}, but the {visit_name} {label} is {_shown(source, value)} ({needs})."
                ),
            }
    if missing:
        return {
            "status": UNVERIFIED,
            "sentence": f"{title}; not verified: {', '.join(missing)} is not entered.",
        }
    return {"status": VERIFIED, "sentence": ""}


def eligibility_source_checks(participant: Participant) -> dict[str, dict[str, Any]]:
    """For every answered criterion with sources: {code: {status, sentence}}."""
    eligibility = definition_of(participant.protocol_version).eligibility
    answers = {a.criterion_code: a.answer for a in participant.eligibility_answers.all()}
    found = {}
    for kind, criteria in (
        ("inclusion", eligibility.inclusion),
        ("exclusion", eligibility.exclusion),
    ):
        for criterion in criteria:
            if criterion.sources and criterion.code in answers:
                found[criterion.code] = criterion_check(
                    participant, criterion, kind, answers[criterion.code]
                )
    return found

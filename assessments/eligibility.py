"""Eligibility answers checked against the entered forms: each criterion with `sources:` in
the protocol definition is contradicted by them, agrees with them, or cannot be verified yet.

The confirmation service (trials) calls `eligibility_source_checks` through the
ELIGIBILITY_SOURCE_CHECK setting, since trials sits below the forms."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from assessments.models import (
    ConcomitantMedication,
    EntryStatus,
    LabResults,
    MedicalHistory,
    RenalAssessment,
    SledaiAssessment,
)
from assessments.rules.common import add_months, partial_bounds, show
from ecrf.site_time import local_date
from trials.definitions import definition_of
from trials.models import Participant
from trials.protocol import ProtocolDefinition
from trials.protocol.model import Criterion, CriterionSource, MedicationLookback

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


class _Reads:
    """What the checks of one participant read, each read once for all their criteria: the
    visits by code, a form's entered record at a visit, the medication log and the look-back
    anchor."""

    def __init__(self, participant: Participant) -> None:
        self.participant = participant
        self._visits: dict[str, Any] | None = None
        self._records: dict[tuple[str, str], Any] = {}
        self._medications: list[ConcomitantMedication] | None = None
        self._anchor: tuple[date, str] | None = None

    def visit(self, code: str) -> Any:
        if self._visits is None:
            self._visits = {}
            for visit in self.participant.visits.order_by("pk"):
                self._visits.setdefault(visit.code, visit)
        return self._visits.get(code)

    def record(self, form: str, visit: Any) -> Any:
        key = (form, visit.code)
        if key not in self._records:
            self._records[key] = (
                FORM_MODELS[form]
                .objects.filter(visit=visit, entry_status=EntryStatus.ENTERED)
                .first()
            )
        return self._records[key]

    def medications(self) -> list[ConcomitantMedication]:
        if self._medications is None:
            self._medications = list(
                ConcomitantMedication.objects.filter(
                    participant=self.participant, entry_status=EntryStatus.ENTERED
                ).order_by("pk")
            )
        return self._medications

    def anchor(self, definition: ProtocolDefinition, now: datetime) -> tuple[date, str]:
        if self._anchor is None:
            self._anchor = lookback_anchor(self.participant, definition, now)
        return self._anchor


def _source_value(reads: _Reads, source: CriterionSource) -> tuple[Any, str]:
    """The entered value and the name of the visit it was read at (None when missing)."""
    visit = reads.visit(source.visit)
    name = visit.name.lower() if visit is not None else source.visit
    if visit is None:
        return None, name
    record = reads.record(source.form, visit)
    value = getattr(record, source.field) if record is not None else None
    return (None if value in (None, "") else value), name


def lookback_anchor(
    participant: Participant, definition: ProtocolDefinition, now: datetime
) -> tuple[date, str]:
    """The day the medication look-backs count back from, and how a sentence names it: the
    selection (screening) visit as recorded or planned, or randomization; today stands in for
    either while it has not happened."""
    today = local_date(now, participant.site.time_zone)
    parameter = definition.parameters.get("exclusion_lookback_anchor")
    if parameter is not None and parameter.value == "randomization":
        if participant.randomized_at is not None:
            day = local_date(participant.randomized_at, participant.site.time_zone)
            return day, f"randomization ({day:%Y-%m-%d})"
        return today, f"randomization, counted from today ({today:%Y-%m-%d}) until it happens"
    visit = participant.visits.filter(kind="screening").order_by("target_date", "pk").first()
    if visit is None:
        return today, f"selection, counted from today ({today:%Y-%m-%d})"
    day = visit.actual_date or visit.target_date or today
    return day, f"the {visit.name.lower()} visit ({day:%Y-%m-%d})"


def _bounds(value: str) -> tuple[date, date] | None:
    try:
        return partial_bounds(value) if value else None
    except ValueError:
        return None


def _in_window(
    cm: ConcomitantMedication, lookback: MedicationLookback, opens: date, anchor: date
) -> bool | None:
    """True when the entry surely falls within [opens, anchor] (its start for a look-back of
    starts, any day taken otherwise), None when its partial or missing dates allow either."""
    start, end = _bounds(cm.start_date), _bounds(cm.end_date)
    if lookback.started:
        if start is not None and (start[1] < opens or start[0] > anchor):
            return False
        return True if start is not None and opens <= start[0] and start[1] <= anchor else None
    if (start is not None and start[0] > anchor) or (end is not None and end[1] < opens):
        return False
    surely_started = start is not None and start[1] <= anchor
    # Taken within the window: started in it, still taken, or ended in it.
    surely_taken = (
        bool(cm.ongoing)
        or (start is not None and start[0] >= opens)
        or (end is not None and end[0] >= opens)
    )
    return True if surely_started and surely_taken else None


def _medication_words(cm: ConcomitantMedication) -> str:
    dates = f"started {cm.start_date or 'on an unknown date'}"
    if cm.ongoing:
        dates += ", ongoing"
    elif cm.end_date:
        dates += f", ended {cm.end_date}"
    return f"{cm.medication or cm.coded_term} ({dates})"


def lookback_findings(
    reads: _Reads, criterion: Criterion, definition: ProtocolDefinition, now: datetime
) -> tuple[list[str], list[str]]:
    """What the medication log says of the criterion's look-backs: the entries surely within
    a window and those whose dates cannot tell, each as words for a sentence."""
    if not criterion.lookbacks:
        return [], []
    anchor, anchor_words = reads.anchor(definition, now)
    medications = reads.medications()
    sure: list[str] = []
    unsure: list[str] = []
    for lookback in criterion.lookbacks:
        opens = add_months(anchor, -lookback.months)
        what = "started" if lookback.started else "taken"
        window = f"{what} within the {lookback.months} months before {anchor_words}"
        for cm in medications:
            text = f"{cm.coded_term or ''} {cm.medication or ''}"
            if lookback.names(text, cm.category, cm.route) is None:
                continue
            inside = _in_window(cm, lookback, opens, anchor)
            if inside is True:
                sure.append(f"{_medication_words(cm)} was {window}")
            elif inside is None:
                unsure.append(f"{_medication_words(cm)} may have been {window}")
    return sure, unsure


def criterion_check(
    participant: Participant,
    criterion: Criterion,
    kind: str,
    answer: bool,
    *,
    now: datetime | None = None,
    reads: _Reads | None = None,
) -> dict[str, Any]:
    """The verification of one answer: its status and, unless verified, a sentence. `reads`
    shares what is read between the criteria of one participant."""
    reads = reads or _Reads(participant)
    words = _answer_words(kind, answer)
    title = f"{kind.capitalize()} {criterion.number} answered {words}"
    missing: list[str] = []
    if criterion.lookbacks and not answer:
        # A medication within a look-back proves the criterion holds; none proves nothing.
        definition = definition_of(participant.protocol_version)
        sure, unsure = lookback_findings(reads, criterion, definition, now or timezone.now())
        if sure:
            return {
                "status": CONTRADICTED,
                "sentence": f"{title}, but in the medication log {'; '.join(sure)}.",
            }
        if unsure:
            return {
                "status": UNVERIFIED,
                "sentence": f"{title}; not verified: {'; '.join(unsure)}.",
            }
    for source in criterion.sources:
        value, visit_name = _source_value(reads, source)
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


def eligibility_source_checks(
    participant: Participant, *, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """For every answered criterion with sources or look-backs, as of `now`: {code: {status,
    sentence}}."""
    eligibility = definition_of(participant.protocol_version).eligibility
    answers = {a.criterion_code: a.answer for a in participant.eligibility_answers.all()}
    found = {}
    reads = _Reads(participant)
    for kind, criteria in (
        ("inclusion", eligibility.inclusion),
        ("exclusion", eligibility.exclusion),
    ):
        for criterion in criteria:
            if (criterion.sources or criterion.lookbacks) and criterion.code in answers:
                found[criterion.code] = criterion_check(
                    participant, criterion, kind, answers[criterion.code], now=now, reads=reads
                )
    return found

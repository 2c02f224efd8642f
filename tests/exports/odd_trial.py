"""A synthetic MSVLE trial, then values in each form that the forms would refuse.

Built at fixed instants, so its exports are the same files on every day and every database:
generated at GENERATED, the odd values saved at ODD (the history dates them there), exported
as of BEFORE (without them) or AFTER (with them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import time_machine

from accounts.services import system_actor
from assessments.models import (
    ConcomitantMedication,
    Infusion,
    LabResults,
    ProtocolDeviation,
    RenalAssessment,
    SledaiAssessment,
    VitalSigns,
)
from demo.synthetic import generate_synthetic
from exports.base import ExportContext
from safety.models import AdverseEvent
from tests.personas import load
from trials.models import ProtocolVersion, Trial
from visits.models import Visit

PARTICIPANTS = 12
GENERATED = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
BEFORE = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
ODD = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
AFTER = datetime(2026, 4, 1, 11, 0, tzinfo=UTC)
LONG_NON_ASCII = "Ä" * 120  # 240 bytes: cut at 200 bytes, 100 characters
LONG_EMOJI = "a" * 198 + "\U0001f600"  # the 4-byte character would straddle the cut


def build_odd_trial() -> Trial:
    with time_machine.travel(GENERATED, tick=False):
        load("nct03673748.yaml")
        generate_synthetic(trial_code="MSVLE", participants=PARTICIPANTS, mode="bulk")
    with time_machine.travel(ODD, tick=False):
        _oddities()
    return Trial.objects.get(code="MSVLE")


def odd_ctx(trial: Trial, as_of: datetime, *, blinded: bool) -> ExportContext:
    version = ProtocolVersion.objects.filter(trial=trial).order_by("-number").first()
    assert version is not None
    return ExportContext(trial=trial, protocol_version=version, as_of=as_of, blinded=blinded)


def _first(model: Any, **filters: Any) -> Any:
    found = model.objects.filter(**filters).order_by("pk").first()
    assert found is not None, f"the synthetic trial has no {model.__name__} {filters}"
    return found


def _save(instance: Any) -> None:
    """Saved as an import or a correction in the database would save it: without the form
    checks, with its history record."""
    instance._history_user = system_actor()
    instance._change_reason = "Correction outside the forms"
    instance.save()


def _oddities() -> None:
    visit = _first(Visit, status="completed")
    visit.name = "Semana 4 — visita\tcompleta \u3000 "
    _save(visit)
    labs = _first(LabResults, entry_status="entered", haemoglobin_value__isnull=False)
    labs.haemoglobin_unit = "mmol/mol"  # no factor: no standard result
    labs.haemoglobin_lln = None
    labs.wbc_value = Decimal("7.000")
    _save(labs)
    medications = list(
        ConcomitantMedication.objects.filter(entry_status="entered").order_by("pk")[:4]
    )
    assert len(medications) == 4
    values: list[dict[str, Any]] = [
        {"medication": LONG_NON_ASCII, "start_date": "2024-02-30", "end_date": "2024-02-29"},
        {
            "medication": LONG_EMOJI,
            "indication": "line 1\r\nline 2\x0bend\u3000",
            "start_date": "2023-02-29",
            "end_date": "1900-02-29",
        },
        {
            "medication": "  leading kept, trailing not \xa0",
            "start_date": "2024",
            "end_date": "2024-04-31",
            "dose_unit": "",
        },
        {"medication": "Ñandú\n", "start_date": "2000-02-29", "end_date": "2024-13-01"},
    ]
    for medication, changes in zip(medications, values, strict=True):
        for name, value in changes.items():
            setattr(medication, name, value)
        _save(medication)
    event = _first(AdverseEvent, entry_status="entered")
    event.verbatim_term = "Fièvre  \n"
    event.onset_date = "2024-06"
    _save(event)
    renal = _first(RenalAssessment, entry_status="entered")
    renal.response_rule_set = "custom-rule"
    renal.response_category = "complete "
    renal.secondary_responses = {
        "zeta": {"category": "complete", "version": 2, "provisional": "yes"},
        "Alpha": {"category": "partial", "provisional": 0},
        "beta": {"category": ""},
        "b\u00e9ta": {"category": "none", "version": "v1\t", "provisional": [1]},
    }
    renal.egfr_equation, renal.egfr_version = "CKD-EPI", " 2021 "
    renal.upcr_unit = ""
    _save(renal)
    sledai = _first(SledaiAssessment, entry_status="entered")
    sledai.contributions = [
        {"code": "SEIZURE", "weight": "8"},
        {"code": "FEVER", "weight": 1},
        {"code": "FEVER", "weight": 3},
    ]
    sledai.calculator = "  SLEDAI-2K calc "
    _save(sledai)
    vitals = list(
        VitalSigns.objects.filter(entry_status="entered", measured_at__isnull=False).order_by("pk")[
            :2
        ]
    )
    vitals[0].measured_at = vitals[0].measured_at.replace(second=30, microsecond=500000)
    vitals[1].measured_at = vitals[1].measured_at.replace(second=0, microsecond=500)
    for row in vitals:
        _save(row)
    deviation = _first(ProtocolDeviation)
    deviation.state = "confirmed"
    deviation.description = "Window missed\r\nby two days"
    deviation.occurred_on = None
    _save(deviation)
    infusion = _first(Infusion, entry_status="entered")
    infusion.given = False
    infusion.not_given_reason = "Fever\tbefore the infusion"
    infusion.interrupted = True
    infusion.interruption_details = "x" * 250
    _save(infusion)

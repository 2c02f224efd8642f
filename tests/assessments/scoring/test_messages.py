"""What the calculators say when they refuse an input: the field the form shows the message on,
and the message itself, word for word; and the values they report beside a result."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assessments.scoring import (
    DescriptorInput,
    ScoringInputError,
    check_administered,
    creatinine,
    egfr_ckd_epi,
    score_sledai2k,
    target_dose,
    upcr_to_g_per_g,
)
from assessments.scoring.base import to_count
from assessments.scoring.treatment_failure import (
    dialysis_failure,
    failure_event,
    sustained_doubling,
)
from assessments.scoring.units import upcr_from_g_per_g

DAY = date(2026, 5, 1)
ADULT = {"age_years": 30, "sex": "F", "creatinine_value": "0.8"}
UPCR_UNITS = "g/g, mg/mg, mg/g, mg/mmol"


def egfr(**changes):
    return lambda: egfr_ckd_epi(**{**ADULT, **changes})


REFUSALS = [
    (
        lambda: failure_event("nephrectomy", DAY),
        "kind",
        "unknown treatment failure event 'nephrectomy'",
    ),
    (lambda: dialysis_failure(DAY, None, min_days=0), "dialysis_min_days", "must be at least 1"),
    (
        lambda: dialysis_failure(DAY, None, min_days=1.5),
        "dialysis_min_days",
        "expected a whole number, got 1.5",
    ),
    (
        lambda: dialysis_failure(DAY, date(2026, 4, 30), min_days=90),
        "dialysis_end",
        "dialysis cannot end before it started",
    ),
    (
        lambda: sustained_doubling([], Decimal(1), confirm_weeks=0),
        "doubling_confirm_weeks",
        "must be at least 1",
    ),
    (
        lambda: sustained_doubling([], Decimal(1), confirm_weeks=True),
        "doubling_confirm_weeks",
        "expected a whole number, got True",
    ),
    (
        lambda: sustained_doubling([], Decimal(0), confirm_weeks=4),
        "baseline_mg_dl",
        "must be greater than 0, got 0",
    ),
    (egfr(sex=None), "sex", "unknown sex None; expected 'F' or 'M'"),
    (egfr(sex="X"), "sex", "unknown sex 'X'; expected 'F' or 'M'"),
    (egfr(age_years="x"), "age_years", "not a number: 'x'"),
    (egfr(age_years=17), "age_years", "CKD-EPI is validated from 18 years, got 17"),
    (egfr(age_years=121), "age_years", "implausible age 121"),
    (egfr(equation="2012"), "equation", "unknown CKD-EPI equation '2012'"),
    (egfr(black=False), "black", "the 2021 equation has no race coefficient"),
    (egfr(equation="2009", black="yes"), "black", "expected True or False, got 'yes'"),
    (egfr(creatinine_value="-1"), "creatinine", "must be greater than 0, got -1"),
    (
        egfr(creatinine_unit="mmol/L"),
        "creatinine_unit",
        "unknown creatinine unit 'mmol/L'; expected mg/dL or umol/L",
    ),
    (lambda: upcr_from_g_per_g("-1", "mg/mmol"), "upcr", "must not be negative, got -1"),
    (
        lambda: upcr_from_g_per_g("1", "mg/l"),
        "upcr_unit",
        f"unknown UPCR unit 'mg/l'; expected one of {UPCR_UNITS}",
    ),
    (
        lambda: upcr_to_g_per_g("1", "mg/l"),
        "upcr_unit",
        f"unknown UPCR unit 'mg/l'; expected one of {UPCR_UNITS}",
    ),
    (
        lambda: creatinine("1", "mg/l"),
        "creatinine_unit",
        "unknown creatinine unit 'mg/l'; expected mg/dL or umol/L",
    ),
    (lambda: to_count(1.5, "joints"), "joints", "expected a whole number, got 1.5"),
    (lambda: to_count(True, "joints"), "joints", "expected a whole number, got True"),
    (lambda: to_count(-1, "joints"), "joints", "must not be negative, got -1"),
    (
        lambda: check_administered("100", "90", tolerance="1"),
        "tolerance",
        "must be a fraction below 1, got 1.0",
    ),
    (lambda: target_dose(70, cells_per_kg=0), "cells_per_kg", "must be greater than 0, got 0"),
    (
        lambda: target_dose(250, cells_per_kg="2e6"),
        "weight_kg",
        "250 kg is outside the accepted range 30-200 kg",
    ),
    (
        lambda: score_sledai2k([DescriptorInput(7, True)]),  # type: ignore[arg-type]
        "code",
        "unknown SLEDAI-2K descriptor code 7",
    ),
    (
        lambda: score_sledai2k([DescriptorInput("RASH", True), DescriptorInput("RASH", True)]),
        "RASH.code",
        "descriptor given more than once",
    ),
    (
        lambda: score_sledai2k([DescriptorInput("RASH", True, attributable_to_sle=True)]),
        "RASH.attributable_to_sle",
        "RASH has no exclusion clause; leave it empty",
    ),
    (
        lambda: score_sledai2k([], window_days=True),
        "window_days",
        "must be 10 or 30 (validated SLEDAI-2K windows), got True",
    ),
]


@pytest.mark.parametrize(("call", "field", "message"), REFUSALS)
def test_a_refused_input_names_its_field_and_says_why(call, field, message) -> None:
    with pytest.raises(ScoringInputError) as caught:
        call()
    assert (caught.value.field, caught.value.message) == (field, message)
    assert str(caught.value) == f"{field}: {message}"


def test_the_values_reported_beside_a_result() -> None:
    scr = creatinine("88.4", "umol/L")
    assert (scr.calculator, scr.version, scr.mg_dl, scr.umol_l) == (
        "Unit conversion",
        "1.0",
        Decimal(1),
        Decimal("88.4"),
    )
    assert upcr_from_g_per_g("1", "mg/mmol") == Decimal("113.12")
    dose = target_dose(70, cells_per_kg="2e6")
    assert (dose.weight_kg, dose.target_million_cells) == (Decimal(70), Decimal(140))
    check = check_administered("100", "105")
    assert (check.calculator, check.version) == ("MSC weight-based dose", "1.0")
    result = egfr_ckd_epi(**ADULT)
    assert (result.unit, result.age_years, result.sex, result.creatinine_mg_dl) == (
        "mL/min/1.73m2",
        Decimal(30),
        "F",
        Decimal("0.8"),
    )
    not_attributable = DescriptorInput("FEVER", True, attributable_to_sle=False)
    assert score_sledai2k([not_attributable]).not_scored[0].reason == (
        "present but not attributable to SLE"
    )

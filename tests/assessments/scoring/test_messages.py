"""What the calculators say when they refuse an input: the field the form shows the message on,
and the message itself, word for word; and the values they report beside a result."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from assessments.scoring import (
    DescriptorInput,
    RenalInputs,
    ScoringInputError,
    check_administered,
    creatinine,
    egfr_ckd_epi,
    evaluate,
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


# Inputs a rule set needs (a missing one is named), and parameters out of their range.
BARE = RenalInputs(p0=Decimal("3.2"), p1=Decimal("0.4"), g0=Decimal(100), g1=Decimal(100), week=52)
REFUSALS = [
    (
        lambda: replace(BARE, cellular_casts="yes"),
        "cellular_casts",
        "expected True or False, got 'yes'",
    ),
    (
        lambda: replace(BARE, rbc_casts=True, cellular_casts=False),
        "cellular_casts",
        "RBC casts present but cellular casts not",
    ),
    (lambda: replace(BARE, week=-1), "week", "expected a whole number >= 0, got -1"),
    (lambda: replace(BARE, p1=None), "p1", "expected a number, got None"),
    (lambda: replace(BARE, g1=True), "g1", "expected a number, got True"),
    (lambda: replace(BARE, p0=[Decimal("3.2")]), "p0", "expected a number, got list"),
    (lambda: replace(BARE, g0="x"), "g0", "not a number: 'x'"),
    (lambda: replace(BARE, p1=float("nan")), "p1", "must be finite, got nan"),
    (
        lambda: evaluate("eular2019", {"p0": 3, "p1": 1}),  # type: ignore[arg-type]
        "inputs",
        "expected RenalInputs, got dict",
    ),
    (lambda: replace(BARE, g1="Infinity"), "g1", "must be finite, got 'Infinity'"),
    (lambda: replace(BARE, gpf=0), "gpf", "must be greater than 0, got 0"),
    (
        lambda: replace(BARE, treatment_failure=" "),
        "treatment_failure",
        "expected the event, said in words",
    ),
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
    (
        lambda: score_sledai2k([], window_days=30.0),
        "window_days",
        "must be 10 or 30 (validated SLEDAI-2K windows), got 30.0",
    ),
    (
        lambda: score_sledai2k([DescriptorInput(["RASH"], True)]),  # type: ignore[arg-type]
        "code",
        "unknown SLEDAI-2K descriptor code ['RASH']",
    ),
]


@pytest.mark.parametrize(("call", "field", "message"), REFUSALS)
def test_a_refused_input_names_its_field_and_says_why(call, field, message) -> None:
    with pytest.raises(ScoringInputError) as caught:
        call()
    assert (caught.value.field, caught.value.message) == (field, message)
    assert str(caught.value) == f"{field}: {message}"


def test_inputs_at_the_edge_of_the_refused_ones_are_accepted() -> None:
    # Week 0 is Day 0; RBC casts are cellular casts, so both may be answered yes.
    assert replace(BARE, week=0).week == 0
    both = replace(BARE, rbc_casts=True, cellular_casts=True)
    assert (both.rbc_casts, both.cellular_casts, both.any_cellular_casts) == (True, True, True)
    assert score_sledai2k([], window_days=30).window_days == 30


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


RULE_SET_REFUSALS = [
    ("kdigo2021", {}, {"basis": "creatinine"}, "scr0_mg_dl", "required by the kdigo2021 rule set"),
    (
        "kdigo2021",
        {"scr0_mg_dl": Decimal(1)},
        {"basis": "creatinine"},
        "scr1_mg_dl",
        "required by the kdigo2021 rule set",
    ),
    (
        "kdigo2021",
        {},
        {"basis": "cystatin"},
        "basis",
        "must be 'egfr' or 'creatinine', got 'cystatin'",
    ),
    ("kdigo2021", {}, {"tol": "0.2"}, "tol", "must lie between 0.10 and 0.15, got 0.2"),
    (
        "bliss_ln",
        {"prednisone_mg_day": Decimal(5)},
        {"prednisone_limit_mg": -1},
        "prednisone_limit_mg",
        "must not be negative, got -1",
    ),
    (
        "bliss_ln",
        {"prednisone_mg_day": Decimal(5)},
        {"steroid_from_week": 24.0},
        "steroid_from_week",
        "expected a whole number of weeks",
    ),
    ("bliss_ln", {"week": None}, {}, "week", "required by the bliss_ln rule set"),
    ("bliss_ln", {}, {}, "prednisone_mg_day", "required by the bliss_ln rule set"),
    ("eular2019", {}, {"t_cr": "0.8"}, "t_cr", "must lie between 0.5 and 0.7, got 0.8"),
    (
        "eular2019",
        {},
        {"rescue_is_failure": "yes"},
        "rescue_is_failure",
        "expected True or False, got 'yes'",
    ),
    ("eular2019", {}, {"gfr_ok_egfr_min": 0}, "gfr_ok_egfr_min", "must be greater than 0, got 0"),
    ("eular2019", {}, {"gfr_ok_ratio_min": 0}, "gfr_ok_ratio_min", "must be greater than 0"),
    (
        "eular2019",
        {},
        {"gfr_ok_ratio_min": "1.1"},
        "gfr_ok_ratio_min",
        "must lie between 0 and 1, got 1.1",
    ),
    (
        "eular2019",
        {},
        {"prr_reduction_min": "1.1"},
        "prr_reduction_min",
        "must lie between 0 and 1, got 1.1",
    ),
    ("eular2019", {}, {"prr_upcr_max": 0}, "prr_upcr_max", "must be greater than 0, got 0"),
    ("nct03917797_cr", {}, {}, "urine_rbc_hpf", "required by the nct03917797_cr rule set"),
    (
        "nct03917797_cr",
        {"urine_rbc_hpf": Decimal(1)},
        {},
        "rbc_casts",
        "required by the nct03917797_cr rule set",
    ),
    (
        "nct03917797_cr",
        {"urine_rbc_hpf": Decimal(1), "rbc_casts": False},
        {},
        "prednisone_mg_day",
        "required by the nct03917797_cr rule set",
    ),
    (
        "nct03917797_cr",
        {},
        {"prednisone_limit_mg": -1},
        "prednisone_limit_mg",
        "must not be negative, got -1",
    ),
    ("nct03917797_cr", {}, {"cr_upcr_max": 0}, "cr_upcr_max", "must be greater than 0, got 0"),
    ("nct03917797_cr", {}, {"cr_egfr_min": 0}, "cr_egfr_min", "must be greater than 0, got 0"),
    (
        "nct03917797_cr",
        {},
        {"cr_egfr_ratio_min": "1.5"},
        "cr_egfr_ratio_min",
        "must lie between 0 and 1, got 1.5",
    ),
    (
        "nct03917797_cr",
        {},
        {"cr_urine_rbc_max": 0},
        "cr_urine_rbc_max",
        "must be greater than 0, got 0",
    ),
    (
        "nct03917797_cr",
        {},
        {"cr_rbc_casts_allowed": "no"},
        "cr_rbc_casts_allowed",
        "expected True or False, got 'no'",
    ),
    (
        "nct03917797_cr",
        {},
        {"pr_provisional": "no"},
        "pr_provisional",
        "expected True or False, got 'no'",
    ),
    (
        "nct03917797_cr",
        {},
        {"cr_egfr_unit_registered": "ml/s"},
        "cr_egfr_unit_registered",
        "must be one of ml/min/m2, ml/min/1.73m2",
    ),
    ("nct03917797_cr", {}, {"pr_rule": "kdigo"}, "pr_rule", "must be one of eular2019_prr"),
    ("acr2006", {}, {}, "urine_rbc_hpf", "required by the acr2006 rule set"),
    (
        "acr2006",
        {"urine_rbc_hpf": Decimal(1)},
        {},
        "urine_wbc_hpf",
        "required by the acr2006 rule set",
    ),
    (
        "acr2006",
        {"urine_rbc_hpf": Decimal(1), "urine_wbc_hpf": Decimal(1)},
        {},
        "cellular_casts",
        "required by the acr2006 rule set",
    ),
    ("acr2006", {}, {"egfr_normal": "x"}, "egfr_normal", "not a number: 'x'"),
    ("acr2006", {}, {"stable_tol": "0.6"}, "stable_tol", "must lie between 0 and 0.5, got 0.6"),
    ("acr2006", {}, {"improvement": "2"}, "improvement", "must lie between 0 and 1, got 2"),
    (
        "acr2006",
        {},
        {"upcr_improvement": "-1"},
        "upcr_improvement",
        "must lie between 0 and 1, got -1",
    ),
    (
        "eular2019",
        {},
        {"tol": "0.1"},
        "tol",
        "not a parameter of eular2019; accepted: gfr_ok_egfr_min, gfr_ok_ratio_min, "
        "prr_reduction_min, prr_upcr_max, rescue_is_failure, t_cr",
    ),
    (
        "who",
        {},
        {},
        "code",
        "unknown renal response rule set 'who'; known: eular2019, kdigo2021, bliss_ln, "
        "nct03917797_cr, acr2006",
    ),
]


@pytest.mark.parametrize(("code", "inputs", "params", "field", "message"), RULE_SET_REFUSALS)
def test_a_rule_set_names_what_it_refuses(code, inputs, params, field, message) -> None:
    with pytest.raises(ScoringInputError) as caught:
        evaluate(code, replace(BARE, **inputs), **params)
    assert (caught.value.field, caught.value.message) == (field, message)

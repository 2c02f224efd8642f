"""Renal response rule sets: boundaries, parameters, required inputs and the registry."""

from decimal import Decimal

import pytest

from assessments.scoring import (
    RULE_SETS,
    RenalInputs,
    ScoringInputError,
    evaluate,
    get_rule_set,
)


def inputs(**overrides: object) -> RenalInputs:
    """A complete set of inputs for a responder, with named fields overridden."""
    values: dict[str, object] = {
        "p0": "3.0",
        "p1": "0.3",
        "g0": 80,
        "g1": 80,
        "urine_rbc_hpf": 2,
        "urine_wbc_hpf": 2,
        "rbc_casts": False,
        "cellular_casts": False,
        "prednisone_mg_day": 5,
        "week": 52,
    }
    values.update(overrides)
    return RenalInputs(**values)  # type: ignore[arg-type]


def category(code: str, data: RenalInputs, **params: object) -> str:
    return evaluate(code, data, **params).category


def test_registry_codes_are_stable() -> None:
    assert set(RULE_SETS) == {"eular2019", "kdigo2021", "bliss_ln", "nct03917797_cr", "acr2006"}
    assert get_rule_set("kdigo2021").categories == ("NR", "PR", "CR")
    assert get_rule_set("bliss_ln").rank("CRR") > get_rule_set("bliss_ln").rank("PERR")


def test_unknown_rule_set_and_parameter_are_rejected() -> None:
    with pytest.raises(ScoringInputError) as unknown:
        evaluate("eular2012", inputs())
    assert unknown.value.field == "code"
    with pytest.raises(ScoringInputError) as param:
        evaluate("eular2019", inputs(), tol="0.1")
    assert param.value.field == "tol"


# EULAR/ERA-EDTA 2019


def test_eular_p1_exactly_at_t_cr_is_not_crr() -> None:
    assert category("eular2019", inputs(p1="0.5")) == "PRR"
    assert category("eular2019", inputs(p1="0.4999")) == "CRR"


def test_eular_t_cr_can_be_raised_to_0_7() -> None:
    data = inputs(p0="1.0", p1="0.6")
    assert category("eular2019", data) == "NR"  # 0.6 > 0.5*1.0, so not PRR either
    result = evaluate("eular2019", data, t_cr="0.7")
    assert result.category == "CRR"
    assert result.parameters["t_cr"] == "0.7"


@pytest.mark.parametrize("t_cr", ["0.49", "0.71", "abc"])
def test_eular_t_cr_outside_0_5_to_0_7_is_rejected(t_cr: str) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        evaluate("eular2019", inputs(), t_cr=t_cr)
    assert excinfo.value.field == "t_cr"


@pytest.mark.parametrize(("g1", "expected"), [("58.5", "CRR"), ("58.4", "NR"), (90, "CRR")])
def test_eular_gfr_ok_boundary_is_inclusive_and_90_always_suffices(
    g1: object, expected: str
) -> None:
    assert category("eular2019", inputs(g0=65, g1=g1)) == expected
    assert category("eular2019", inputs(g0=150, g1=90)) == "CRR"


def test_eular_prr_needs_half_and_sub_nephrotic() -> None:
    assert category("eular2019", inputs(p0="4.0", p1="2.0")) == "PRR"  # exactly half
    assert category("eular2019", inputs(p0="4.0", p1="2.01")) == "NR"
    assert category("eular2019", inputs(p0="8.0", p1="3.0")) == "NR"  # not below 3.0
    assert category("eular2019", inputs(p0="8.0", p1="2.99")) == "PRR"


def test_eular_rescue_makes_nr_unless_the_protocol_ignores_it() -> None:
    rescued = inputs(rescue=True)
    assert category("eular2019", rescued) == "NR"
    assert category("eular2019", rescued, rescue_is_failure=False) == "CRR"


# KDIGO 2021/2024


def test_kdigo_tolerance_changes_the_stability_limit() -> None:
    data = inputs(p0="4.0", p1="1.6", g0=65, g1=57)
    assert category("kdigo2021", data) == "PR"  # 57 >= 55.25
    assert category("kdigo2021", data, tol="0.10") == "NR"  # 57 < 58.5


@pytest.mark.parametrize("tol", ["0.09", "0.16", "0.2"])
def test_kdigo_tolerance_outside_range_is_rejected(tol: str) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        evaluate("kdigo2021", inputs(), tol=tol)
    assert excinfo.value.field == "tol"


def test_kdigo_creatinine_form() -> None:
    stable = inputs(scr0_mg_dl="1.00", scr1_mg_dl="1.15")
    rising = inputs(scr0_mg_dl="1.00", scr1_mg_dl="1.16")
    assert category("kdigo2021", stable, basis="creatinine") == "CR"
    assert category("kdigo2021", rising, basis="creatinine") == "NR"
    with pytest.raises(ScoringInputError) as missing:
        evaluate("kdigo2021", inputs(), basis="creatinine")
    assert missing.value.field == "scr0_mg_dl"
    with pytest.raises(ScoringInputError) as basis:
        evaluate("kdigo2021", inputs(), basis="cystatin")
    assert basis.value.field == "basis"


def test_kdigo_does_not_apply_the_eular_rescue_rule() -> None:
    assert category("kdigo2021", inputs(rescue=True)) == "CR"


# BLISS-LN


@pytest.mark.parametrize(("week", "failed"), [(20, False), (24, True), (30, True)])
def test_bliss_prednisone_ceiling_applies_from_week_24(week: int, failed: bool) -> None:
    result = evaluate("bliss_ln", inputs(prednisone_mg_day=15, week=week))
    assert result.flags["TF"] is failed
    assert result.category == ("NR" if failed else "CRR")


def test_bliss_prednisone_of_exactly_10_is_allowed() -> None:
    assert evaluate("bliss_ln", inputs(prednisone_mg_day=10)).flags["TF"] is False


def test_bliss_uses_pre_flare_egfr_and_notes_the_default() -> None:
    with_gpf = evaluate("bliss_ln", inputs(p1="0.6", g0=80, g1=55, gpf=65))
    assert with_gpf.category == "PERR"  # 55 >= 0.8*65 = 52
    assert with_gpf.notes == ()
    without_gpf = evaluate("bliss_ln", inputs(p1="0.6", g0=80, g1=55))
    assert without_gpf.category == "NR"  # 55 < 0.8*80 = 64 and < 60
    assert without_gpf.notes == ("Gpf not recorded; baseline eGFR G0 used",)


def test_bliss_perr_boundaries() -> None:
    assert category("bliss_ln", inputs(p1="0.7", g1=60, g0=100)) == "PERR"
    assert category("bliss_ln", inputs(p1="0.71", g1=60, g0=100)) == "NR"
    assert category("bliss_ln", inputs(p1="0.5", g0=80, g1=80)) == "PERR"  # CRR needs < 0.5


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"week": None}, "week"), ({"prednisone_mg_day": None}, "prednisone_mg_day")],
)
def test_bliss_requires_week_and_dose(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        evaluate("bliss_ln", inputs(**overrides))
    assert excinfo.value.field == field


def test_bliss_dose_not_needed_before_week_24() -> None:
    assert category("bliss_ln", inputs(prednisone_mg_day=None, week=12)) == "CRR"


# Trial B (NCT03917797)


@pytest.mark.parametrize(
    ("overrides", "is_cr"),
    [
        ({}, True),
        ({"g0": 200, "g1": 125}, True),  # G1 >= 120 although below 0.8*G0 = 160
        ({"g0": 200, "g1": 119}, False),
        ({"g0": 100, "g1": 80}, True),  # exactly 0.8*G0
        ({"urine_rbc_hpf": "9.9"}, True),
        ({"urine_rbc_hpf": 10}, False),
        ({"rbc_casts": True, "cellular_casts": True}, False),
        ({"prednisone_mg_day": 10}, True),
        ({"prednisone_mg_day": "10.5"}, False),
        ({"p1": "0.5"}, False),
    ],
)
def test_trial_b_registered_cr(overrides: dict[str, object], is_cr: bool) -> None:
    result = evaluate("nct03917797_cr", inputs(**overrides))
    assert result.flags["CR"] is is_cr


@pytest.mark.parametrize("field", ["urine_rbc_hpf", "rbc_casts", "prednisone_mg_day"])
def test_trial_b_requires_sediment_and_dose(field: str) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        evaluate("nct03917797_cr", inputs(**{field: None}))
    assert excinfo.value.field == field


def test_trial_b_fallback_pr_excludes_rescue() -> None:
    data = inputs(p0="4.0", p1="1.6", rescue=True)
    assert category("nct03917797_cr", data) == "NR"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # Misses CR_B only on sediment or steroid dose, eGFR at 80-89% of baseline.
        ({"g0": 100, "g1": 85, "urine_rbc_hpf": 12}, "PR"),
        ({"g0": 100, "g1": 85, "prednisone_mg_day": 15}, "PR"),
        ({"g0": 100, "g1": 85, "rbc_casts": True, "cellular_casts": True}, "PR"),
        ({"g0": 100, "g1": "89.9", "urine_rbc_hpf": 12}, "PR"),
        ({"g0": 100, "g1": 80, "urine_rbc_hpf": 12}, "PR"),  # exactly 0.8*G0
        ({"g0": 100, "g1": "79.9", "urine_rbc_hpf": 12}, "NR"),
        # CR_B's kidney criterion: 0.8*G0 on both sides.
        ({"g0": 100, "g1": 80}, "CR"),
        ({"g0": 100, "g1": "79.9"}, "NR"),  # below 0.8*G0, 0.9*G0, 90 and 120
        # CR_B's absolute 120 on both sides; below it EULAR's 90 still gives PR_B.
        ({"g0": 200, "g1": 120}, "CR"),
        ({"g0": 200, "g1": "119.9"}, "PR"),
        ({"g0": 200, "g1": 90}, "PR"),
        ({"g0": 200, "g1": "89.9"}, "NR"),
        # EULAR's 0.9*G0 on both sides, with CR_B missed on the RBC count.
        ({"g0": 80, "g1": 72, "urine_rbc_hpf": 12}, "PR"),
        ({"g0": 80, "g1": "71.9", "urine_rbc_hpf": 12}, "PR"),  # still >= 0.8*G0 = 64
        # Proteinuria at the CR_B level needs no 50% fall for PR_B.
        ({"p0": "0.6", "p1": "0.4", "urine_rbc_hpf": 12}, "PR"),
        ({"p0": "0.6", "p1": "0.5", "urine_rbc_hpf": 12}, "NR"),  # neither < 0.5 nor halved
        # Rescue means NR in every category.
        ({"rescue": True}, "NR"),
        ({"g0": 100, "g1": 85, "urine_rbc_hpf": 12, "rescue": True}, "NR"),
        ({"p0": "4.0", "p1": "1.6", "rescue": True}, "NR"),
    ],
)
def test_trial_b_categories_at_each_threshold(overrides: dict[str, object], expected: str) -> None:
    assert category("nct03917797_cr", inputs(**overrides)) == expected


def test_trial_b_rescue_voids_cr_and_the_reasons_say_so() -> None:
    result = evaluate("nct03917797_cr", inputs(rescue=True))
    assert result.flags["CR"] is False
    assert result.flags["GR"] is False
    texts = [reason.text for reason in result.reasons]
    assert "rescue therapy => NR: yes" in texts
    cr_b = [reason for reason in result.reasons if reason.condition == "CR_B"]
    assert len(cr_b) == 1
    assert cr_b[0].held is False
    assert "NOT rescue" in cr_b[0].text
    assert texts[-1].startswith("PR_B := NOT CR_B AND ")
    assert texts[-1].endswith("AND NOT rescue (provisional): no")


def test_trial_b_partial_response_explains_the_kidney_function_it_accepted() -> None:
    result = evaluate("nct03917797_cr", inputs(g0=100, g1=85, urine_rbc_hpf=12))
    texts = [reason.text for reason in result.reasons]
    assert "G1 85.0 >= 0.8*G0 80.0: yes" in texts
    assert "kidney_CR_B := G1 >= 120 OR G1 >= 0.8*G0: yes" in texts
    assert "GFR_ok := G1 >= 90 OR G1 >= 0.9*G0: no" in texts
    assert "kidney_PR_B := GFR_ok OR kidney_CR_B: yes" in texts
    assert "urine RBC/hpf 12.0 < 10.0: no" in texts
    assert (result.flags["CR_kidney"], result.flags["PR_kidney"]) == (True, True)
    assert result.category == "PR"
    assert result.provisional is True


def test_trial_b_thresholds_come_from_the_parameters() -> None:
    data = inputs(g0=200, g1=115)
    assert category("nct03917797_cr", data) == "PR"
    result = evaluate("nct03917797_cr", data, cr_egfr_min=110)
    assert result.category == "CR"
    assert result.parameters["cr_egfr_min"] == "110.0"
    assert "kidney_CR_B := G1 >= 110 OR G1 >= 0.8*G0: yes" in result.explain().splitlines()
    kept = inputs(g0=100, g1=75, urine_rbc_hpf=12)
    assert category("nct03917797_cr", kept) == "NR"
    assert category("nct03917797_cr", kept, cr_egfr_ratio_min="0.75") == "PR"
    assert category("nct03917797_cr", inputs(p1="0.6"), cr_upcr_max="0.7") == "CR"
    with pytest.raises(ScoringInputError) as excinfo:
        evaluate("nct03917797_cr", data, cr_egfr_ratio_min="1.2")
    assert excinfo.value.field == "cr_egfr_ratio_min"


def test_eular_gfr_ok_thresholds_come_from_the_parameters() -> None:
    data = inputs(g0=100, g1=85)
    assert category("eular2019", data) == "NR"
    assert category("eular2019", data, gfr_ok_egfr_min=85) == "CRR"
    assert category("eular2019", data, gfr_ok_ratio_min="0.85") == "CRR"
    result = evaluate("eular2019", data, gfr_ok_egfr_min=85)
    assert "GFR_ok := G1 >= 85 OR G1 >= 0.9*G0: yes" in result.explain().splitlines()


# ACR 2006


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"p1": "0.1", "g0": 95, "g1": 95}, "CR"),
        ({"p1": "0.2", "g0": 95, "g1": 95}, "PR"),
        ({"p0": "4.0", "p1": "2.0", "g0": 95, "g1": 95}, "PR"),  # halved and within 2.0
        ({"p0": "4.2", "p1": "2.1", "g0": 95, "g1": 95}, "NR"),  # halved but above 2.0
        ({"p1": "0.1", "g0": 60, "g1": 75}, "CR"),  # abnormal baseline improved by 25%
        ({"p1": "0.1", "g0": 60, "g1": 74}, "NR"),  # abnormal and not improved enough
        ({"p1": "0.1", "g0": 95, "g1": 88}, "PR"),  # kept within 10% but not normal
        ({"p1": "0.1", "urine_rbc_hpf": 5}, "NR"),
        ({"p1": "0.1", "urine_wbc_hpf": 5}, "NR"),
        ({"p1": "0.1", "cellular_casts": True}, "NR"),
    ],
)
def test_acr2006(overrides: dict[str, object], expected: str) -> None:
    base: dict[str, object] = {"g0": 95, "g1": 95}
    base.update(overrides)
    assert category("acr2006", inputs(**base)) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # Proteinuria must improve by half: 1.5 -> 1.9 g/g is worse, not a partial response.
        ({"p0": "1.5", "p1": "1.9"}, "NR"),
        ({"p0": "1.5", "p1": "1.5"}, "NR"),  # unchanged
        ({"p0": "3.0", "p1": "1.5"}, "PR"),  # exactly 50% lower
        ({"p0": "3.0", "p1": "1.5001"}, "NR"),
        ({"p0": "3.0", "p1": "2.0"}, "NR"),  # within 2.0 but only a third lower
        ({"p0": "4.0", "p1": "2.0"}, "PR"),
        ({"p0": "4.2", "p1": "2.0001"}, "NR"),  # halved but above 2.0
        ({"p0": "0.3", "p1": "0.2"}, "NR"),  # neither halved nor below 0.2
        ({"p0": "0.3", "p1": "0.15"}, "PR"),  # halved; kidney function short of CR
        ({"p0": "0.3", "p1": "0.1999"}, "PR"),  # below the complete-response level
        # Kidney function: stable within 10% when normal at baseline.
        ({"p0": "3.0", "p1": "1.0", "g0": 95, "g1": "85.5"}, "PR"),  # exactly 0.9*G0
        ({"p0": "3.0", "p1": "1.0", "g0": 95, "g1": "85.4"}, "NR"),
        # Kidney function: improved by 25% when abnormal at baseline.
        ({"p0": "3.0", "p1": "1.0", "g0": 60, "g1": 75}, "PR"),
        ({"p0": "3.0", "p1": "1.0", "g0": 60, "g1": "74.9"}, "NR"),  # stable is not enough
        ({"p0": "3.0", "p1": "1.0", "g0": 60, "g1": 90}, "PR"),  # normal
        # Sediment must be inactive.
        ({"p0": "3.0", "p1": "1.0", "urine_rbc_hpf": 5}, "NR"),
        ({"p0": "3.0", "p1": "1.0", "urine_rbc_hpf": "4.9"}, "PR"),
    ],
)
def test_acr2006_partial_response_needs_improvement_without_worsening(
    overrides: dict[str, object], expected: str
) -> None:
    base: dict[str, object] = {"g0": 95, "g1": 88}
    base.update(overrides)
    assert category("acr2006", inputs(**base)) == expected


def test_acr2006_partial_response_reasons_show_the_improvement() -> None:
    result = evaluate("acr2006", inputs(p0="1.5", p1="1.9", g0=95, g1=95))
    texts = result.explain().splitlines()
    assert "P1 1.9 <= 0.5*P0 0.75: no" in texts
    assert "proteinuria_PR := P1 < 0.2 OR (P1 <= 0.5*P0 AND P1 <= 2.0): no" in texts
    assert texts[-1] == "PR := NOT CR AND proteinuria_PR AND renal_PR AND inactive_sediment: no"
    assert result.category == "NR"
    assert result.parameters["upcr_improvement"] == "0.5"


def test_acr2006_upcr_improvement_is_a_parameter() -> None:
    data = inputs(p0="2.0", p1="1.2", g0=95, g1=95)
    assert category("acr2006", data) == "NR"
    assert category("acr2006", data, upcr_improvement="0.4") == "PR"


def test_acr2006_requires_sediment() -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        evaluate("acr2006", inputs(urine_wbc_hpf=None))
    assert excinfo.value.field == "urine_wbc_hpf"
    with pytest.raises(ScoringInputError) as casts:
        evaluate("acr2006", inputs(rbc_casts=None, cellular_casts=None))
    assert casts.value.field == "cellular_casts"


# Inputs


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"p1": -0.1}, "p1"),
        ({"p0": "x"}, "p0"),
        ({"g0": 0}, "g0"),
        ({"g1": -5}, "g1"),
        ({"gpf": 0}, "gpf"),
        ({"urine_rbc_hpf": -1}, "urine_rbc_hpf"),
        ({"prednisone_mg_day": -2}, "prednisone_mg_day"),
        ({"week": -1}, "week"),
        ({"week": 2.5}, "week"),
        ({"rescue": None}, "rescue"),
        ({"rbc_casts": "no"}, "rbc_casts"),
        ({"rbc_casts": True, "cellular_casts": False}, "cellular_casts"),
    ],
)
def test_renal_inputs_are_validated(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        inputs(**overrides)
    assert excinfo.value.field == field


def test_renal_inputs_store_exact_decimals() -> None:
    data = inputs(g0=0.9, p1=0.3)
    assert data.g0 == Decimal("0.9")
    assert data.p1 == Decimal("0.3")
    assert data.pre_flare_egfr == Decimal("0.9")


def test_explain_lists_every_reason_in_order() -> None:
    result = evaluate("kdigo2021", inputs(p0="4.0", p1="1.6", g0=65, g1=60))
    lines = result.explain().splitlines()
    assert lines[0] == "G1 60.0 >= (1-0.15)*G0 55.25: yes"
    assert lines[-1] == "PR := NOT CR AND P1 <= 0.5*P0 AND P1 < 3.0 AND stable: yes"
    assert len(lines) == len(result.reasons)


def test_evaluate_rejects_inputs_of_the_wrong_type() -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        evaluate("eular2019", {"p1": 0.4})  # type: ignore[arg-type]
    assert excinfo.value.field == "inputs"

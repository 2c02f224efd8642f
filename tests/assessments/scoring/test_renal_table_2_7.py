"""Renal response fixtures P1-P4 of domain table 2.7, evaluated by every rule set."""

from decimal import Decimal

import pytest

from assessments.scoring import RULE_SETS, RenalInputs, evaluate, upcr_to_g_per_g

# Inputs the table leaves unstated but some rule sets require are filled with values that
# do not decide any column: assessment at week 52, prednisone 5 mg/day, no RBC casts,
# and (P3) 3 RBC/hpf; "inactive sediment" in P4 is 2 RBC and 2 WBC/hpf.
P1 = RenalInputs(
    p0=Decimal("3.2"),
    p1=Decimal("0.40"),
    g0=Decimal(78),
    g1=Decimal(82),
    gpf=Decimal(80),
    urine_rbc_hpf=Decimal(3),
    rbc_casts=False,
    prednisone_mg_day=Decimal("7.5"),
    rescue=False,
    week=52,
)
P2 = RenalInputs(
    p0=Decimal("4.0"),
    p1=Decimal("1.6"),
    g0=Decimal(65),
    g1=Decimal(60),
    gpf=Decimal(65),
    urine_rbc_hpf=Decimal(12),
    rbc_casts=False,
    prednisone_mg_day=Decimal(5),
    week=52,
)
P3 = RenalInputs(
    p0=Decimal("2.4"),
    p1=Decimal("0.45"),
    g0=Decimal(95),
    g1=Decimal(70),
    urine_rbc_hpf=Decimal(3),
    rbc_casts=False,
    prednisone_mg_day=Decimal(5),
    rescue=True,  # rituximab at week 10
    week=52,
)
P4_P0 = upcr_to_g_per_g(350, "mg/mmol")
P4_P1 = upcr_to_g_per_g(55, "mg/mmol")
P4 = RenalInputs(
    p0=P4_P0.g_per_g,
    p1=P4_P1.g_per_g,
    g0=Decimal(100),
    g1=Decimal(98),
    urine_rbc_hpf=Decimal(2),
    urine_wbc_hpf=Decimal(2),
    rbc_casts=False,
    cellular_casts=False,
    prednisone_mg_day=Decimal(5),
    week=52,
)
CASES = {"P1": P1, "P2": P2, "P3": P3, "P4": P4}

EXPECTED = [
    # case, EULAR, KDIGO, BLISS PERR, BLISS CRR, Trial B CR
    ("P1", "CRR", "CR", True, True, True),
    ("P2", "PRR", "PR", False, False, False),
    ("P3", "NR", "NR", False, False, False),
    ("P4", "CRR", "CR", True, True, True),
]


@pytest.mark.parametrize(("case", "eular", "kdigo", "perr", "crr", "trial_b_cr"), EXPECTED)
def test_table_2_7(
    case: str, eular: str, kdigo: str, perr: bool, crr: bool, trial_b_cr: bool
) -> None:
    inputs = CASES[case]
    assert evaluate("eular2019", inputs).category == eular
    assert evaluate("kdigo2021", inputs, tol="0.15").category == kdigo
    bliss = evaluate("bliss_ln", inputs)
    assert (bliss.flags["PERR"], bliss.flags["CRR"]) == (perr, crr)
    assert evaluate("nct03917797_cr", inputs).flags["CR"] is trial_b_cr


def _texts(code: str, inputs: RenalInputs) -> list[str]:
    return [reason.text for reason in evaluate(code, inputs).reasons]


def test_p2_reasons_show_the_numbers_compared() -> None:
    assert "G1 60.0 >= 0.9*G0 58.5: yes" in _texts("eular2019", P2)
    assert "P1 1.6 <= 0.5*P0 2.0: yes" in _texts("eular2019", P2)
    assert "G1 60.0 >= (1-0.15)*G0 55.25: yes" in _texts("kdigo2021", P2)
    assert "P1 1.6 <= 0.7: no" in _texts("bliss_ln", P2)


def test_p3_fails_on_kidney_function_in_every_rule_set() -> None:
    assert "G1 70.0 >= 0.9*G0 85.5: no" in _texts("eular2019", P3)
    assert "G1 70.0 >= (1-0.15)*G0 80.75: no" in _texts("kdigo2021", P3)
    assert "G1 70.0 >= 0.8*G0 76.0: no" in _texts("nct03917797_cr", P3)


def test_p3_bliss_non_response_is_treatment_failure() -> None:
    result = evaluate("bliss_ln", P3)
    assert result.flags["TF"] is True
    assert result.category == "NR"
    # Without the rescue the proteinuria and eGFR-floor conditions would make P3 a PERR.
    without_rescue = evaluate("bliss_ln", RenalInputs(**{**_fields(P3), "rescue": False}))
    assert without_rescue.category == "PERR"
    assert without_rescue.flags["TF"] is False


def test_p3_eular_rescue_alone_would_also_make_it_nr() -> None:
    result = evaluate("eular2019", P3)
    assert "rescue therapy => NR: yes" in [r.text for r in result.reasons]
    assert result.flags["GFR_ok"] is False


def test_p4_is_compared_in_exact_g_per_g() -> None:
    assert P4.p1 == P4_P1.g_per_g
    assert Decimal("0.4862") < P4.p1 < Decimal("0.4863")
    assert Decimal("3.0940") < P4.p0 < Decimal("3.0941")
    assert (P4_P1.original_value, P4_P1.original_unit) == (Decimal(55), "mg/mmol")
    assert "P1 0.486209 < T_CR 0.5: yes" in _texts("eular2019", P4)


def test_p4_would_be_prr_against_the_rounded_50_mg_per_mmol_threshold() -> None:
    # Treating 50 mg/mmol as 0.5 g/g is a factor of 100 instead of 113.12.
    rounded = RenalInputs(**{**_fields(P4), "p0": Decimal("3.50"), "p1": Decimal("0.55")})
    assert evaluate("eular2019", rounded).category == "PRR"
    assert evaluate("eular2019", P4).category == "CRR"


def test_trial_b_categories_and_provisional_flag() -> None:
    p2 = evaluate("nct03917797_cr", P2)
    assert p2.category == "PR"
    assert p2.provisional is True
    assert p2.flags["GR"] is True
    p1 = evaluate("nct03917797_cr", P1)
    assert (p1.category, p1.provisional) == ("CR", False)
    p3 = evaluate("nct03917797_cr", P3)
    assert (p3.category, p3.provisional, p3.flags["GR"]) == ("NR", True, False)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("code", ["eular2019", "kdigo2021", "bliss_ln", "nct03917797_cr"])
def test_every_result_names_its_calculator_and_version(case: str, code: str) -> None:
    result = evaluate(code, CASES[case])
    rule_set = RULE_SETS[code]
    assert result.rule_set == code
    assert (result.calculator, result.version) == (
        rule_set.calculator.name,
        rule_set.calculator.version,
    )
    assert result.category in rule_set.categories
    assert all(r.text.endswith((": yes", ": no")) for r in result.reasons)


def _fields(inputs: RenalInputs) -> dict[str, object]:
    return {name: getattr(inputs, name) for name in RenalInputs.__dataclass_fields__}

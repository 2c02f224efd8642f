"""The reasons each rule set gives, word for word: they are what a monitor reads on the form and
in the audit trail, so a changed label, threshold or verdict in them is a changed result."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from assessments.scoring import RenalInputs, evaluate

D = Decimal
INPUTS = RenalInputs(
    p0=D("3.2"),
    p1=D("0.4"),
    g0=D(100),
    g1=D(100),
    gpf=D(80),
    urine_rbc_hpf=D(1),
    urine_wbc_hpf=D(1),
    rbc_casts=False,
    cellular_casts=False,
    prednisone_mg_day=D(5),
    week=52,
    scr0_mg_dl=D("2.0"),
    scr1_mg_dl=D("2.1"),
)

EXPECTED = {
    ("eular2019", ""): (
        "CRR",
        {"CRR": True, "PRR": False, "GFR_ok": True},
        {
            "t_cr": "0.5",
            "rescue_is_failure": "True",
            "gfr_ok_egfr_min": "90.0",
            "gfr_ok_ratio_min": "0.9",
            "prr_reduction_min": "0.5",
            "prr_upcr_max": "3.0",
        },
        """\
G1 100.0 >= 90.0: yes
G1 100.0 >= 0.9*G0 90.0: yes
GFR_ok := G1 >= 90 OR G1 >= 0.9*G0: yes
P1 0.4 < T_CR 0.5: yes
CRR := P1 < T_CR AND GFR_ok: yes
P1 0.4 <= 0.5*P0 1.6: yes
P1 0.4 < 3.0: yes
PRR := NOT CRR AND P1 <= 0.5*P0 AND P1 < 3.0 AND GFR_ok: no
rescue therapy => NR: no""",
    ),
    ("kdigo2021", "egfr"): (
        "CR",
        {"CR": True, "PR": False, "stable": True},
        {"tol": "0.15", "basis": "egfr"},
        """\
G1 100.0 >= (1-0.15)*G0 85.0: yes
stable := G1 >= (1-0.15)*G0: yes
P1 0.4 < 0.5: yes
CR := P1 < 0.5 AND stable: yes
P1 0.4 <= 0.5*P0 1.6: yes
P1 0.4 < 3.0: yes
PR := NOT CR AND P1 <= 0.5*P0 AND P1 < 3.0 AND stable: no""",
    ),
    ("kdigo2021", "creatinine"): (
        "CR",
        {"CR": True, "PR": False, "stable": True},
        {"tol": "0.15", "basis": "creatinine"},
        """\
SCr1 2.1 <= (1+0.15)*SCr0 2.3: yes
stable := SCr1 <= (1+0.15)*SCr0: yes
P1 0.4 < 0.5: yes
CR := P1 < 0.5 AND stable: yes
P1 0.4 <= 0.5*P0 1.6: yes
P1 0.4 < 3.0: yes
PR := NOT CR AND P1 <= 0.5*P0 AND P1 < 3.0 AND stable: no""",
    ),
    ("bliss_ln", ""): (
        "CRR",
        {"PERR": True, "CRR": True, "TF": False},
        {"prednisone_limit_mg": "10.0", "steroid_from_week": "24"},
        """\
rescue or prohibited medication: no
week 52 >= 24: yes
prednisone mg/day 5.0 > 10.0: no
TF := rescue OR (week >= 24 AND prednisone > 10.0 mg/day): no
P1 0.4 <= 0.7: yes
G1 100.0 >= 0.8*Gpf 64.0: yes
G1 100.0 >= 60.0: yes
PERR := P1 <= 0.7 AND (G1 >= 0.8*Gpf OR G1 >= 60) AND NOT TF: yes
P1 0.4 < 0.5: yes
G1 100.0 >= 0.9*Gpf 72.0: yes
G1 100.0 >= 90.0: yes
CRR := P1 < 0.5 AND (G1 >= 0.9*Gpf OR G1 >= 90) AND NOT TF: yes""",
    ),
    ("nct03917797_cr", ""): (
        "CR",
        {"CR": True, "PR": False, "GR": True, "CR_kidney": True, "PR_kidney": True},
        {
            "prednisone_limit_mg": "10.0",
            "cr_upcr_max": "0.5",
            "cr_egfr_min": "120.0",
            "cr_egfr_ratio_min": "0.8",
            "cr_urine_rbc_max": "10.0",
            "cr_rbc_casts_allowed": "False",
            "cr_egfr_unit_registered": "ml/min/m2",
            "pr_fallback": "eular2019",
            "pr_provisional": "True",
        },
        """\
P1 0.4 < 0.5: yes
G1 100.0 >= 120.0: no
G1 100.0 >= 0.8*G0 80.0: yes
kidney_CR_B := G1 >= 120 OR G1 >= 0.8*G0: yes
urine RBC/hpf 1.0 < 10.0: yes
no RBC casts: yes
prednisone mg/day 5.0 <= 10.0: yes
rescue therapy => NR: no
CR_B := P1 < 0.5 AND kidney_CR_B AND RBC < 10/hpf AND no RBC casts AND prednisone <= 10.0 \
mg/day AND NOT rescue: yes
G1 100.0 >= 90.0: yes
G1 100.0 >= 0.9*G0 90.0: yes
GFR_ok := G1 >= 90 OR G1 >= 0.9*G0: yes
P1 0.4 <= 0.5*P0 1.6: yes
P1 0.4 < 3.0: yes
proteinuria_PR_B := P1 < 0.5 OR (P1 <= 0.5*P0 AND P1 < 3.0): yes
kidney_PR_B := GFR_ok OR kidney_CR_B: yes
PR_B := NOT CR_B AND proteinuria_PR_B AND kidney_PR_B AND NOT rescue (provisional): no""",
    ),
    ("acr2006", ""): (
        "PR",
        {"CR": False, "PR": True, "inactive_sediment": True},
        {
            "egfr_normal": "90.0",
            "stable_tol": "0.1",
            "improvement": "0.25",
            "upcr_improvement": "0.5",
        },
        """\
urine RBC/hpf 1.0 < 5.0: yes
urine WBC/hpf 1.0 < 5.0: yes
no cellular casts: yes
inactive_sediment := RBC < 5/hpf AND WBC < 5/hpf AND no cellular casts: yes
G1 100.0 >= normal 90.0: yes
G0 100.0 < normal 90.0: no
G1 100.0 >= (1+0.25)*G0 125.0: no
G1 100.0 >= (1-0.1)*G0 90.0: yes
renal_CR := G1 normal OR (G0 abnormal AND improved): yes
renal_PR := renal_CR OR (G0 normal AND G1 kept): yes
P1 0.4 < 0.2: no
CR := P1 < 0.2 AND renal_CR AND inactive_sediment: no
P1 0.4 <= 0.5*P0 1.6: yes
P1 0.4 <= 2.0: yes
proteinuria_PR := P1 < 0.2 OR (P1 <= 0.5*P0 AND P1 <= 2.0): yes
PR := NOT CR AND proteinuria_PR AND renal_PR AND inactive_sediment: yes""",
    ),
}


@pytest.mark.parametrize(("code", "basis"), sorted(EXPECTED))
def test_reasons_flags_and_parameters_word_for_word(code, basis) -> None:
    category, flags, parameters, text = EXPECTED[(code, basis)]
    result = evaluate(code, INPUTS, **({"basis": basis} if basis else {}))
    assert result.category == category
    assert dict(result.flags) == flags
    assert dict(result.parameters) == parameters
    assert result.explain() == text
    # Each reason's condition is its text up to the values compared.
    for reason in result.reasons:
        assert reason.text.endswith(": yes" if reason.held else ": no")
        # The condition is the text's start: its left-hand name, or the whole fact.
        assert reason.condition and reason.text.startswith(reason.condition.split(" ")[0])
    assert (result.rule_set, result.notes) == (code, ())


# ACR 2006 on the same inputs with P1 0.1: a complete response.
ACR2006_CR_TEXT = """\
urine RBC/hpf 1.0 < 5.0: yes
urine WBC/hpf 1.0 < 5.0: yes
no cellular casts: yes
inactive_sediment := RBC < 5/hpf AND WBC < 5/hpf AND no cellular casts: yes
G1 100.0 >= normal 90.0: yes
G0 100.0 < normal 90.0: no
G1 100.0 >= (1+0.25)*G0 125.0: no
G1 100.0 >= (1-0.1)*G0 90.0: yes
renal_CR := G1 normal OR (G0 abnormal AND improved): yes
renal_PR := renal_CR OR (G0 normal AND G1 kept): yes
P1 0.1 < 0.2: yes
CR := P1 < 0.2 AND renal_CR AND inactive_sediment: yes
P1 0.1 <= 0.5*P0 1.6: yes
P1 0.1 <= 2.0: yes
proteinuria_PR := P1 < 0.2 OR (P1 <= 0.5*P0 AND P1 <= 2.0): yes
PR := NOT CR AND proteinuria_PR AND renal_PR AND inactive_sediment: no"""


def test_an_acr2006_complete_response_word_for_word() -> None:
    result = evaluate("acr2006", replace(INPUTS, p1=D("0.1")))
    assert result.category == "CR"
    assert dict(result.flags) == {"CR": True, "PR": False, "inactive_sediment": True}
    assert result.explain() == ACR2006_CR_TEXT
    verdict = next(reason for reason in result.reasons if reason.condition == "CR")
    assert verdict.held is True

"""NCT03917797's complete response with RBC casts seen: refused as registered, accepted when the
protocol allows them (`cr_rbc_casts_allowed`), with the reason and the definition saying so."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessments.scoring import RenalInputs, evaluate

D = Decimal
CASTS_SEEN = RenalInputs(
    p0=D("3.2"),
    p1=D("0.4"),
    g0=D(100),
    g1=D(100),
    urine_rbc_hpf=D(1),
    rbc_casts=True,
    cellular_casts=True,
    prednisone_mg_day=D(5),
    week=52,
)
CR_B = "CR_B := P1 < 0.5 AND kidney_CR_B AND RBC < 10/hpf"


@pytest.mark.parametrize(
    ("allowed", "category", "casts", "verdict"),
    [
        (
            True,
            "CR",
            ("RBC casts allowed", True, "RBC casts allowed: yes"),
            f"{CR_B} AND prednisone <= 10.0 mg/day AND NOT rescue: yes",
        ),
        (
            False,
            "PR",
            ("no RBC casts", False, "no RBC casts: no"),
            f"{CR_B} AND no RBC casts AND prednisone <= 10.0 mg/day AND NOT rescue: no",
        ),
    ],
)
def test_rbc_casts_decide_cr_b_unless_allowed(allowed, category, casts, verdict) -> None:
    result = evaluate("nct03917797_cr", CASTS_SEEN, cr_rbc_casts_allowed=allowed)
    assert result.category == category
    assert result.flags["CR"] is allowed
    assert result.parameters["cr_rbc_casts_allowed"] == str(allowed)
    reasons = [(reason.condition, reason.held, reason.text) for reason in result.reasons]
    assert reasons[5] == casts
    assert result.reasons[8].text == verdict
    assert result.reasons[8].held is allowed

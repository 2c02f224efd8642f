"""NCT03917797's complete response with RBC casts seen: refused as registered, accepted when the
protocol allows them (`cr_rbc_casts_allowed`), with the reason and the definition saying so; and
the partial response that follows, provisional or not."""

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
PR_B = "PR_B := NOT CR_B AND proteinuria_PR_B AND kidney_PR_B AND NOT rescue"
PROVISIONAL_NOTE = (
    "PR_B uses EULAR 2019 PRR, never stricter than CR_B, until the registered PR definition "
    "is confirmed"
)


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


@pytest.mark.parametrize(
    ("provisional", "verdict"),
    [
        (True, f"{PR_B} (provisional)"),
        (False, PR_B),
    ],
)
def test_pr_b_says_whether_it_is_provisional(provisional, verdict) -> None:
    # Missed CR_B on the casts only: PR_B, provisional while the fallback is.
    result = evaluate("nct03917797_cr", CASTS_SEEN, pr_provisional=provisional)
    assert (result.category, result.flags["PR"], result.provisional) == ("PR", True, provisional)
    last = result.reasons[-1]
    assert (last.condition, last.held, last.text) == ("PR_B", True, f"{verdict}: yes")
    assert result.parameters["pr_provisional"] == str(provisional)
    assert result.notes == ((PROVISIONAL_NOTE,) if provisional else ())

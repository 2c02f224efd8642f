"""BLISS-LN's treatment failure, reason by reason: rescue, the steroid period on both sides of
week 24, the prednisone ceiling on both sides of 10 mg/day, and the TF verdict that follows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessments.scoring import RenalInputs, evaluate

D = Decimal
TF_DEFINITION = "TF := rescue OR (week >= 24 AND prednisone > 10.0 mg/day)"


def failure_reasons(**changes: object) -> list[tuple[str, bool, str]]:
    values: dict[str, object] = {
        "p0": D("3.2"),
        "p1": D("0.4"),
        "g0": D(100),
        "g1": D(100),
        "week": 52,
        "prednisone_mg_day": D(5),
        **changes,
    }
    result = evaluate("bliss_ln", RenalInputs(**values))  # type: ignore[arg-type]
    reasons = [(r.condition, r.held, r.text) for r in result.reasons]
    # The failure's reasons come first and end with the TF verdict.
    end = next(i for i, r in enumerate(reasons) if r[0] == "TF") + 1
    assert result.flags["TF"] is reasons[end - 1][1]
    return reasons[:end]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"rescue": True},
            [
                ("rescue or prohibited medication", True, "rescue or prohibited medication: yes"),
                ("week >= 24", True, "week 52 >= 24: yes"),
                ("prednisone mg/day > 10.0", False, "prednisone mg/day 5.0 > 10.0: no"),
                ("TF", True, f"{TF_DEFINITION}: yes"),
            ],
        ),
        (
            {"rescue": False},
            [
                ("rescue or prohibited medication", False, "rescue or prohibited medication: no"),
                ("week >= 24", True, "week 52 >= 24: yes"),
                ("prednisone mg/day > 10.0", False, "prednisone mg/day 5.0 > 10.0: no"),
                ("TF", False, f"{TF_DEFINITION}: no"),
            ],
        ),
        (
            {"week": 23, "prednisone_mg_day": D(20)},
            [
                ("rescue or prohibited medication", False, "rescue or prohibited medication: no"),
                ("week >= 24", False, "week 23 >= 24: no"),
                ("TF", False, f"{TF_DEFINITION}: no"),
            ],
        ),
        (
            {"week": 24, "prednisone_mg_day": D(10)},
            [
                ("rescue or prohibited medication", False, "rescue or prohibited medication: no"),
                ("week >= 24", True, "week 24 >= 24: yes"),
                ("prednisone mg/day > 10.0", False, "prednisone mg/day 10.0 > 10.0: no"),
                ("TF", False, f"{TF_DEFINITION}: no"),
            ],
        ),
        (
            {"week": 24, "prednisone_mg_day": D("10.5")},
            [
                ("rescue or prohibited medication", False, "rescue or prohibited medication: no"),
                ("week >= 24", True, "week 24 >= 24: yes"),
                ("prednisone mg/day > 10.0", True, "prednisone mg/day 10.5 > 10.0: yes"),
                ("TF", True, f"{TF_DEFINITION}: yes"),
            ],
        ),
        (
            {"week": 23, "rescue": True},
            [
                ("rescue or prohibited medication", True, "rescue or prohibited medication: yes"),
                ("week >= 24", False, "week 23 >= 24: no"),
                ("TF", True, f"{TF_DEFINITION}: yes"),
            ],
        ),
    ],
)
def test_treatment_failure_reasons_word_for_word(changes, expected) -> None:
    assert failure_reasons(**changes) == expected

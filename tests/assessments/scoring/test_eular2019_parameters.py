"""EULAR 2019 with its parameters changed: the PRR fall and ceiling are the ones given, on both
sides of each, and rescue therapy is named as ignored when the protocol does not count it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessments.scoring import RenalInputs, evaluate

D = Decimal
GFR_OK = """\
G1 100.0 >= 90.0: yes
G1 100.0 >= 0.9*G0 90.0: yes
GFR_ok := G1 >= 90 OR G1 >= 0.9*G0: yes
"""


def kidney_kept(p0: str, p1: str, *, rescue: bool = False) -> RenalInputs:
    return RenalInputs(p0=D(p0), p1=D(p1), g0=D(100), g1=D(100), rescue=rescue)


@pytest.mark.parametrize(
    ("p0", "p1", "params", "category", "prr_text"),
    [
        (
            "2.0",
            "1.2",
            {"prr_reduction_min": "0.4"},
            "PRR",
            """\
P1 1.2 <= 0.6*P0 1.2: yes
P1 1.2 < 3.0: yes
PRR := NOT CRR AND P1 <= 0.6*P0 AND P1 < 3.0 AND GFR_ok: yes""",
        ),
        (
            "2.0",
            "1.21",
            {"prr_reduction_min": "0.4"},
            "NR",
            """\
P1 1.21 <= 0.6*P0 1.2: no
P1 1.21 < 3.0: yes
PRR := NOT CRR AND P1 <= 0.6*P0 AND P1 < 3.0 AND GFR_ok: no""",
        ),
        (
            "8",
            "2.0",
            {"prr_upcr_max": "2.0"},
            "NR",
            """\
P1 2.0 <= 0.5*P0 4.0: yes
P1 2.0 < 2.0: no
PRR := NOT CRR AND P1 <= 0.5*P0 AND P1 < 2.0 AND GFR_ok: no""",
        ),
        (
            "8",
            "1.9",
            {"prr_upcr_max": "2.0"},
            "PRR",
            """\
P1 1.9 <= 0.5*P0 4.0: yes
P1 1.9 < 2.0: yes
PRR := NOT CRR AND P1 <= 0.5*P0 AND P1 < 2.0 AND GFR_ok: yes""",
        ),
    ],
)
def test_prr_uses_the_fall_and_ceiling_given(p0, p1, params, category, prr_text) -> None:
    result = evaluate("eular2019", kidney_kept(p0, p1), **params)
    assert result.category == category
    assert (result.flags["PRR"], result.flags["CRR"]) == (category == "PRR", False)
    assert result.explain() == (
        f"{GFR_OK}P1 {p1} < T_CR 0.5: no\nCRR := P1 < T_CR AND GFR_ok: no\n"
        f"{prr_text}\nrescue therapy => NR: no"
    )


@pytest.mark.parametrize(
    ("rescue_is_failure", "category", "last"),
    [(True, "NR", "rescue therapy => NR: yes"), (False, "CRR", "rescue therapy (ignored): yes")],
)
def test_rescue_is_named_as_counted_or_ignored(rescue_is_failure, category, last) -> None:
    result = evaluate(
        "eular2019", kidney_kept("3.2", "0.4", rescue=True), rescue_is_failure=rescue_is_failure
    )
    assert result.category == category
    assert result.explain().splitlines()[-1] == last
    assert result.reasons[-1].held is True

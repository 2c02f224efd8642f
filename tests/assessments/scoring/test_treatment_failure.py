"""Treatment failure in the calculators: every rule set gives NR with the event as its reason;
chronic dialysis and a sustained doubling of creatinine are dated on both sides of their limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from assessments.scoring import RULE_SETS, RenalInputs, ScoringInputError, evaluate
from assessments.scoring.treatment_failure import (
    FailureEvent,
    dialysis_failure,
    failure_event,
    failure_on,
    sustained_doubling,
)

# Table case P1 with everything each rule set may ask: a responder under all five.
P1 = RenalInputs(
    p0=Decimal("3.2"),
    p1=Decimal("0.15"),
    g0=Decimal(78),
    g1=Decimal(95),
    gpf=Decimal(80),
    urine_rbc_hpf=Decimal(3),
    urine_wbc_hpf=Decimal(1),
    rbc_casts=False,
    cellular_casts=False,
    prednisone_mg_day=Decimal("7.5"),
    week=52,
    scr0_mg_dl=Decimal("0.97"),
    scr1_mg_dl=Decimal("0.80"),
)
TRANSPLANT = "kidney transplant on 2026-08-01"


# P1's flags after a failure: no responder flag holds, every other flag keeps its value.
FLAGS_AFTER_FAILURE = {
    "eular2019": {"CRR": False, "PRR": False, "GFR_ok": True},
    "kdigo2021": {"CR": False, "PR": False, "stable": True},
    "bliss_ln": {"PERR": False, "CRR": False, "TF": False},
    "nct03917797_cr": {
        "CR": False,
        "PR": False,
        "GR": False,
        "CR_kidney": True,
        "PR_kidney": True,
    },
    "acr2006": {"CR": False, "PR": False, "inactive_sediment": True},
}


@pytest.mark.parametrize("code", sorted(RULE_SETS))
def test_a_treatment_failure_clears_only_the_responder_flags(code) -> None:
    failed = evaluate(code, replace(P1, treatment_failure=TRANSPLANT))
    assert dict(failed.flags) == {**FLAGS_AFTER_FAILURE[code], "treatment_failure": True}


@pytest.mark.parametrize("code", sorted(RULE_SETS))
def test_every_rule_set_gives_non_response_after_a_treatment_failure(code) -> None:
    responder = evaluate(code, P1)
    assert responder.category in RULE_SETS[code].responders
    assert "treatment_failure" not in responder.flags
    failed = evaluate(code, replace(P1, treatment_failure=TRANSPLANT))
    assert failed.category == "NR"
    assert failed.provisional is False
    last = failed.reasons[-1]
    assert (last.condition, last.held) == ("treatment failure => NR", True)
    assert last.text == f"treatment failure => NR: {TRANSPLANT}"
    assert failed.flags["treatment_failure"] is True
    assert not any(failed.flags.get(name) for name in ("CRR", "PRR", "CR", "PR", "PERR", "GR"))
    # Everything else the numbers decided is kept, reason by reason.
    assert failed.reasons[:-1] == responder.reasons


def test_trial_b_non_response_by_failure_is_not_provisional() -> None:
    numbers_only = evaluate("nct03917797_cr", replace(P1, p1=Decimal("1.2")))
    assert (numbers_only.category, numbers_only.provisional) == ("PR", True)
    failed = evaluate("nct03917797_cr", replace(P1, p1=Decimal("1.2"), treatment_failure="x"))
    assert (failed.category, failed.provisional) == ("NR", False)


@pytest.mark.parametrize("bad", ["", "  ", 3, True])
def test_a_treatment_failure_must_be_said_in_words(bad) -> None:
    with pytest.raises(ScoringInputError, match="treatment_failure"):
        replace(P1, treatment_failure=bad)


def test_recorded_events_are_dated_as_recorded() -> None:
    assert failure_event("renal_flare", date(2026, 6, 1)) == FailureEvent(
        "renal_flare", date(2026, 6, 1), "renal flare on 2026-06-01"
    )
    assert failure_event("death", date(2026, 8, 19)).text == "death on 2026-08-19"
    with pytest.raises(ScoringInputError, match="unknown treatment failure event"):
        failure_event("nephrectomy", date(2026, 6, 1))


START = date(2026, 5, 1)


@pytest.mark.parametrize(
    ("end", "counts"),
    [
        (None, True),  # ongoing
        (date(2026, 7, 29), False),  # 89 days
        (date(2026, 7, 30), True),  # 90 days
        (date(2026, 12, 1), True),
    ],
)
def test_dialysis_is_chronic_from_the_day_it_has_lasted_the_minimum(end, counts) -> None:
    event = dialysis_failure(START, end, min_days=90)
    if not counts:
        assert event is None
        return
    assert event is not None
    assert (event.kind, event.day) == ("dialysis", date(2026, 7, 30))
    assert event.text == (
        "chronic dialysis: dialysis from 2026-05-01 lasting 90 days or more by 2026-07-30"
    )


def test_dialysis_limits_are_checked() -> None:
    with pytest.raises(ScoringInputError, match="at least 1"):
        dialysis_failure(START, None, min_days=0)
    with pytest.raises(ScoringInputError, match="end before"):
        dialysis_failure(START, date(2026, 4, 30), min_days=90)
    assert dialysis_failure(START, START, min_days=1) is None
    one_day = dialysis_failure(START, date(2026, 5, 2), min_days=1)
    assert one_day is not None and one_day.day == date(2026, 5, 2)


BASE = Decimal("0.97")  # doubled from 1.94 mg/dL
D1 = date(2026, 5, 27)


def values(*pairs: tuple[int, str]) -> list[tuple[date, Decimal]]:
    """(days after D1, creatinine mg/dL) pairs."""
    return [(date.fromordinal(D1.toordinal() + days), Decimal(v)) for days, v in pairs]


@pytest.mark.parametrize(
    ("series", "confirmed_on"),
    [
        (values((0, "1.94"), (28, "1.94")), 28),  # exactly twice, exactly 4 weeks
        (values((0, "1.94"), (27, "3.0")), None),  # 27 days
        (values((0, "1.93"), (28, "3.0")), None),  # the first is below twice
        (values((0, "3.0"), (28, "1.93")), None),  # the second is below twice
        (values((0, "3.0")), None),  # one value alone
        (values((0, "3.0"), (14, "3.0"), (28, "3.0")), 28),  # a run over 4 weeks
        (values((0, "3.0"), (14, "1.0"), (28, "3.0"), (42, "3.0")), None),  # run broken
        (values((0, "3.0"), (14, "1.0"), (28, "3.0"), (56, "3.0")), 56),
        (values((28, "3.0"), (0, "3.0")), 28),  # order of entry does not matter
    ],
)
def test_a_doubling_counts_when_sustained_over_the_interval(series, confirmed_on) -> None:
    event = sustained_doubling(series, BASE, confirm_weeks=4)
    if confirmed_on is None:
        assert event is None
        return
    assert event is not None
    assert event.kind == "creatinine_doubling"
    assert event.day == date.fromordinal(D1.toordinal() + confirmed_on)
    assert "at least 1.94 mg/dL (2 x baseline 0.97)" in event.text
    assert "at least 4 weeks apart" in event.text


def test_the_confirmation_interval_is_the_protocol_s() -> None:
    series = values((0, "3.0"), (14, "3.0"))
    assert sustained_doubling(series, BASE, confirm_weeks=3) is None
    event = sustained_doubling(series, BASE, confirm_weeks=2)
    assert event is not None and event.day == date(2026, 6, 10)
    with pytest.raises(ScoringInputError, match="at least 1"):
        sustained_doubling(series, BASE, confirm_weeks=0)
    with pytest.raises(ScoringInputError, match="baseline_mg_dl"):
        sustained_doubling(series, Decimal(0), confirm_weeks=4)


def test_the_first_event_on_or_before_the_day_decides() -> None:
    flare = failure_event("renal_flare", date(2026, 6, 1))
    transplant = failure_event("kidney_transplant", date(2026, 5, 1))
    death = failure_event("death", date(2026, 5, 1))
    assert failure_on([None, flare], date(2026, 5, 31)) is None
    assert failure_on([None, flare], date(2026, 6, 1)) == flare
    assert failure_on([flare, transplant], date(2026, 6, 30)) == transplant
    # The same day: decided by the event's code, so the answer never depends on entry order.
    assert failure_on([transplant, death], date(2026, 5, 1)) == death
    assert failure_on([death, transplant], date(2026, 5, 1)) == death

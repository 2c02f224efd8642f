"""Property tests: unit invariance, monotonicity, SLEDAI bounds and eGFR ordering."""

from decimal import Decimal
from itertools import product

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assessments.scoring import (
    DESCRIPTORS,
    RULE_SETS,
    DescriptorInput,
    RenalInputs,
    egfr_ckd_epi,
    evaluate,
    score_sledai2k,
    upcr_to_g_per_g,
)
from assessments.scoring.units import CREATININE_MG_PER_MMOL


def _decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low),
        max_value=Decimal(high),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def _near(values: str) -> st.SearchStrategy[Decimal]:
    return st.sampled_from([Decimal(v) for v in values.split()])


# Values at and around every threshold the rule sets use, mixed with arbitrary ones, so that
# each category of each rule set is reached often.
upcr_g_per_g = _near("0 0.1 0.2 0.45 0.5 0.6 0.7 0.75 1.5 2 2.5 3 3.5 6") | _decimals("0", "12", 4)
egfr = _near("55 60 65 80 88 90 95 100 120 125") | _decimals("5", "150", 1)
# Follow-up eGFR as a fraction of baseline, to land on the relative thresholds.
ratios = _near("0.75 0.8 0.85 0.9 0.95 1 1.25 1.3")


@st.composite
def sediment(draw: st.DrawFn) -> dict[str, object]:
    if draw(st.booleans()):
        # Inactive sediment by every definition in use.
        quiet = _near("0 2 4")
        return {
            "urine_rbc_hpf": draw(quiet),
            "urine_wbc_hpf": draw(quiet),
            "rbc_casts": False,
            "cellular_casts": False,
        }
    casts = draw(st.booleans())
    cells = _near("4 5 9 10 12") | _decimals("0", "30", 1)
    return {
        "urine_rbc_hpf": draw(cells),
        "urine_wbc_hpf": draw(cells),
        "rbc_casts": casts,
        "cellular_casts": casts or draw(st.booleans()),
    }


@st.composite
def renal_inputs(draw: st.DrawFn) -> RenalInputs:
    g0 = draw(egfr)
    return RenalInputs(
        p0=draw(upcr_g_per_g),
        p1=draw(upcr_g_per_g),
        g0=g0,
        g1=draw(egfr | ratios.map(lambda r: g0 * r)),
        gpf=draw(st.none() | egfr),
        prednisone_mg_day=draw(_near("5 10 10.5 15") | _decimals("0", "30", 1)),
        rescue=draw(st.booleans()),
        week=draw(st.sampled_from([12, 23, 24, 25, 52, 104])),
        **draw(sediment()),
    )


def _with_p1(inputs: RenalInputs, p1: Decimal) -> RenalInputs:
    fields = {name: getattr(inputs, name) for name in RenalInputs.__dataclass_fields__}
    fields["p1"] = p1
    return RenalInputs(**fields)


@settings(deadline=None)
@given(x=upcr_g_per_g, base=renal_inputs())
def test_upcr_unit_invariance(x: Decimal, base: RenalInputs) -> None:
    # The same physical ratio written in each unit; all four are finite decimals.
    spellings = {
        "g/g": x,
        "mg/mg": x,
        "mg/g": x * 1000,
        "mg/mmol": x * CREATININE_MG_PER_MMOL,
    }
    canonical = {unit: upcr_to_g_per_g(v, unit).g_per_g for unit, v in spellings.items()}
    assert set(canonical.values()) == {x}
    for code in RULE_SETS:
        categories = {
            evaluate(code, _with_p1(base, canonical[unit])).category for unit in spellings
        }
        assert len(categories) == 1, (code, categories)


@settings(deadline=None, max_examples=500)
@given(base=renal_inputs(), a=upcr_g_per_g, b=upcr_g_per_g)
def test_lower_follow_up_proteinuria_never_worsens_the_category(
    base: RenalInputs, a: Decimal, b: Decimal
) -> None:
    lower, higher = min(a, b), max(a, b)
    for code, rule_set in RULE_SETS.items():
        better = evaluate(code, _with_p1(base, lower)).category
        worse = evaluate(code, _with_p1(base, higher)).category
        assert rule_set.rank(better) >= rule_set.rank(worse), (code, lower, higher)


# Trial B: a grid of baseline eGFRs, and follow-up eGFRs both as absolute values around the
# absolute thresholds (90, 120) and as fractions of baseline around the relative ones (0.8, 0.9).
TRIAL_B_G0 = [
    Decimal(v) for v in ("40", "60", "80", "100", "112.5", "113", "125", "150", "160", "200")
]
TRIAL_B_G1_ABSOLUTE = [
    Decimal(v) for v in ("59.9", "60", "79.9", "80", "89.9", "90", "119.9", "120", "150")
]
TRIAL_B_G1_RATIO = [
    Decimal(v) for v in ("0.75", "0.7999", "0.8", "0.85", "0.8999", "0.9", "1", "1.25")
]
TRIAL_B_UPCR = [("3.0", "0.3"), ("0.6", "0.45"), ("8.0", "0.2"), ("1.0", "0.4999")]
# Ways of missing CR_B other than by proteinuria or kidney function.
CR_B_MISSED_ELSEWHERE: list[dict[str, object]] = [
    {"urine_rbc_hpf": Decimal(12)},
    {"rbc_casts": True, "cellular_casts": True},
    {"prednisone_mg_day": Decimal(15)},
]


def _trial_b_grid() -> list[tuple[Decimal, Decimal]]:
    pairs = {(g0, g1) for g0, g1 in product(TRIAL_B_G0, TRIAL_B_G1_ABSOLUTE)}
    pairs |= {(g0, g0 * ratio) for g0, ratio in product(TRIAL_B_G0, TRIAL_B_G1_RATIO)}
    return sorted(pairs)


def _trial_b(g0: Decimal, g1: Decimal, p0: str, p1: str, **overrides: object) -> RenalInputs:
    values: dict[str, object] = {
        "p0": p0,
        "p1": p1,
        "g0": g0,
        "g1": g1,
        "urine_rbc_hpf": Decimal(2),
        "rbc_casts": False,
        "prednisone_mg_day": Decimal(5),
        "week": 52,
    }
    values.update(overrides)
    return RenalInputs(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("g0", "g1"), _trial_b_grid(), ids=lambda value: format(value.normalize(), "f")
)
def test_trial_b_kidney_function_good_enough_for_cr_is_good_enough_for_pr(
    g0: Decimal, g1: Decimal
) -> None:
    # CR_B's registered kidney-function criterion, restated independently.
    cr_kidney = g1 >= 120 or g1 >= Decimal("0.8") * g0
    for p0, p1 in TRIAL_B_UPCR:  # every follow-up UPCR here is below CR_B's 0.5
        complete = evaluate("nct03917797_cr", _trial_b(g0, g1, p0, p1))
        assert (complete.category == "CR") is cr_kidney, (g0, g1, p0, p1)
        for missed in CR_B_MISSED_ELSEWHERE:
            partial = evaluate("nct03917797_cr", _trial_b(g0, g1, p0, p1, **missed))
            if cr_kidney:
                # Missing CR_B on anything but proteinuria or eGFR leaves a partial response.
                assert partial.category == "PR", (g0, g1, p0, p1, missed)
            rescued = evaluate("nct03917797_cr", _trial_b(g0, g1, p0, p1, rescue=True, **missed))
            assert rescued.category == "NR"
        assert evaluate("nct03917797_cr", _trial_b(g0, g1, p0, p1, rescue=True)).category == "NR"
        # The calculator's own flags say the same: CR_B's kidney criterion implies PR_B's.
        assert complete.flags["CR_kidney"] is cr_kidney
        assert complete.flags["CR_kidney"] <= complete.flags["PR_kidney"], (g0, g1)


descriptor_inputs = st.lists(
    st.sampled_from(DESCRIPTORS).flatmap(
        lambda d: st.builds(
            DescriptorInput,
            code=st.just(d.code),
            present=st.booleans(),
            attributable_to_sle=st.sampled_from([None, True, False])
            if d.has_exclusion
            else st.none(),
            days_before_visit=st.none() | st.integers(min_value=0, max_value=60),
        )
    ),
    unique_by=lambda item: item.code,
)


@given(items=descriptor_inputs, window=st.sampled_from([10, 30]))
def test_sledai_total_is_the_sum_of_contributing_weights(
    items: list[DescriptorInput], window: int
) -> None:
    result = score_sledai2k(items, window_days=window)
    assert result.total == sum(c.weight for c in result.contributions)
    assert 0 <= result.total <= 105
    # Independent restatement of the scoring rule.
    weights = {d.code: d.weight for d in DESCRIPTORS}
    exclusion = {d.code for d in DESCRIPTORS if d.has_exclusion}
    expected = sum(
        weights[i.code]
        for i in items
        if i.present
        and (i.code not in exclusion or i.attributable_to_sle is True)
        and (i.days_before_visit is None or i.days_before_visit <= window)
    )
    assert result.total == expected
    assert result.clinical_total <= result.total


@given(items=descriptor_inputs)
def test_thirty_day_window_never_scores_less_than_ten_day(items: list[DescriptorInput]) -> None:
    assert score_sledai2k(items, window_days=30).total >= score_sledai2k(items).total


@given(
    a=_decimals("0.20", "15.00", 2),
    b=_decimals("0.20", "15.00", 2),
    age=st.integers(min_value=18, max_value=100),
    sex=st.sampled_from(["F", "M"]),
    equation=st.sampled_from(["2021", "2009"]),
)
def test_egfr_decreases_as_creatinine_rises(
    a: Decimal, b: Decimal, age: int, sex: str, equation: str
) -> None:
    assume(a != b)
    low, high = min(a, b), max(a, b)
    at_low = egfr_ckd_epi(age_years=age, sex=sex, creatinine_value=low, equation=equation)
    at_high = egfr_ckd_epi(age_years=age, sex=sex, creatinine_value=high, equation=equation)
    assert at_low.egfr_unrounded > at_high.egfr_unrounded
    assert at_low.egfr >= at_high.egfr

"""SLEDAI-2K: descriptor table, worked examples of domain section 1.3, and input checks."""

from collections import Counter

import pytest

from assessments.scoring import (
    DESCRIPTORS,
    DESCRIPTORS_BY_CODE,
    SLEDAI_2K,
    DescriptorInput,
    ScoringInputError,
    score_sledai2k,
)
from assessments.scoring.sledai_proposals import (
    propose_anti_dsdna,
    propose_arthritis,
    propose_fever,
    propose_haematuria,
    propose_leukopenia,
    propose_low_complement,
    propose_proteinuria,
    propose_pyuria,
    propose_thrombocytopenia,
)

EXCLUSION_CODES = {
    "SEIZ", "PSYCH", "OBS", "VISUAL", "CVA", "HEMAT", "PYUR", "FEVER", "THROMB", "LEUK",
}  # fmt: skip


def test_table_has_24_descriptors_weighted_to_105() -> None:
    assert len(DESCRIPTORS) == 24
    assert [d.number for d in DESCRIPTORS] == list(range(1, 25))
    assert sum(d.weight for d in DESCRIPTORS) == 105
    assert Counter(d.weight for d in DESCRIPTORS) == {8: 8, 4: 6, 2: 7, 1: 3}
    assert len(DESCRIPTORS_BY_CODE) == 24


@pytest.mark.parametrize(
    ("code", "weight"),
    [
        ("SEIZ", 8), ("PSYCH", 8), ("OBS", 8), ("VISUAL", 8), ("CRNERV", 8), ("HEADA", 8),
        ("CVA", 8), ("VASC", 8), ("ARTH", 4), ("MYOS", 4), ("CASTS", 4), ("HEMAT", 4),
        ("PROT", 4), ("PYUR", 4), ("RASH", 2), ("ALOP", 2), ("MUCUL", 2), ("PLEUR", 2),
        ("PERIC", 2), ("LOWCOMP", 2), ("DNA", 2), ("FEVER", 1), ("THROMB", 1), ("LEUK", 1),
    ],
)  # fmt: skip
def test_descriptor_weights_match_table_1_1(code: str, weight: int) -> None:
    assert DESCRIPTORS_BY_CODE[code].weight == weight


def test_exclusion_clauses_match_table_1_1() -> None:
    assert {d.code for d in DESCRIPTORS if d.has_exclusion} == EXCLUSION_CODES


def test_worked_example_1_total_16() -> None:
    items = [
        propose_proteinuria("2.1").to_input(),
        propose_haematuria(15).to_input(attributable_to_sle=True),  # culture negative
        DescriptorInput("CASTS", present=True),  # RBC casts
        propose_low_complement(c3="0.62", c3_lln="0.9").to_input(),
        propose_anti_dsdna(180, 100).to_input(),
    ]
    result = score_sledai2k(items)
    assert result.total == 16
    assert [(c.code, c.weight) for c in result.contributions] == [
        ("CASTS", 4), ("HEMAT", 4), ("PROT", 4), ("LOWCOMP", 2), ("DNA", 2),
    ]  # fmt: skip
    assert result.clinical_total == 12
    assert result.window_days == 10
    assert (result.calculator, result.version) == (SLEDAI_2K.name, SLEDAI_2K.version)


def test_worked_example_2_total_12() -> None:
    items = [
        propose_arthritis(3).to_input(),
        DescriptorInput("RASH", present=True),  # new malar rash
        DescriptorInput("MUCUL", present=True),  # oral ulcers
        propose_fever("38.4").to_input(attributable_to_sle=True),  # not infection
        propose_leukopenia("2.6").to_input(attributable_to_sle=True),  # not drug-related
        propose_low_complement(c4="0.08", c4_lln="0.1").to_input(),
    ]
    result = score_sledai2k(items)
    assert result.total == 12
    assert {c.code for c in result.contributions} == {
        "ARTH", "RASH", "MUCUL", "FEVER", "LEUK", "LOWCOMP",
    }  # fmt: skip
    assert result.clinical_total == 10


def _example_3() -> list[DescriptorInput]:
    return [
        propose_pyuria(12).to_input(attributable_to_sle=False),  # positive urine culture
        propose_thrombocytopenia(85).to_input(attributable_to_sle=False),  # drug-related
        propose_proteinuria("0.50").to_input(),  # exactly 0.50 g/24 h
        DescriptorInput("ALOP", present=True),  # persistent alopecia
        DescriptorInput("SEIZ", present=True, attributable_to_sle=True, days_before_visit=20),
    ]


def test_worked_example_3_ten_day_window_total_2() -> None:
    result = score_sledai2k(_example_3(), window_days=10)
    assert result.total == 2
    assert [c.code for c in result.contributions] == ["ALOP"]
    reasons = {n.code: n.reason for n in result.not_scored}
    assert set(reasons) == {"SEIZ", "PYUR", "THROMB"}
    assert "outside the 10-day window" in reasons["SEIZ"]
    assert "not attributable" in reasons["PYUR"]
    assert result.evaluation_interval == "-P10D"


def test_worked_example_3_thirty_day_window_total_10() -> None:
    result = score_sledai2k(_example_3(), window_days=30)
    assert result.total == 10
    assert [c.code for c in result.contributions] == ["SEIZ", "ALOP"]
    assert result.window_days == 30
    assert result.evaluation_interval == "-P30D"


def test_proteinuria_exactly_half_a_gram_is_not_proposed() -> None:
    assert propose_proteinuria("0.50").present is False


@pytest.mark.parametrize(("attributable", "total"), [(None, 0), (False, 0), (True, 4)])
def test_exclusion_descriptor_needs_explicit_attribution(
    attributable: bool | None, total: int
) -> None:
    result = score_sledai2k([DescriptorInput("HEMAT", True, attributable)])
    assert result.total == total


def test_unconfirmed_attribution_is_reported() -> None:
    result = score_sledai2k([DescriptorInput("FEVER", True)])
    assert result.total == 0
    assert result.not_scored[0].reason == "present but attribution to SLE not confirmed"


def test_absent_descriptor_does_not_score_even_if_attributable() -> None:
    assert score_sledai2k([DescriptorInput("SEIZ", False, True)]).total == 0


@pytest.mark.parametrize(("days", "total"), [(0, 8), (10, 8), (11, 0)])
def test_ten_day_window_includes_its_last_day(days: int, total: int) -> None:
    item = DescriptorInput("CRNERV", True, days_before_visit=days)
    assert score_sledai2k([item], window_days=10).total == total


def test_all_descriptors_present_and_attributable_score_105() -> None:
    items = [DescriptorInput(d.code, True, True if d.has_exclusion else None) for d in DESCRIPTORS]
    result = score_sledai2k(items)
    assert result.total == 105
    assert result.clinical_total == 101


def test_empty_form_scores_zero() -> None:
    result = score_sledai2k([])
    assert (result.total, result.contributions, result.not_scored) == (0, (), ())


@pytest.mark.parametrize(
    ("items", "window", "field"),
    [
        ([DescriptorInput("XYZ", True)], 10, "code"),
        ([DescriptorInput("prot", True)], 10, "code"),
        ([DescriptorInput("RASH", True), DescriptorInput("RASH", False)], 10, "RASH.code"),
        ([DescriptorInput("RASH", True, days_before_visit=-1)], 10, "RASH.days_before_visit"),
        ([DescriptorInput("RASH", True, True)], 10, "RASH.attributable_to_sle"),
        ([DescriptorInput("RASH", None)], 10, "RASH.present"),  # type: ignore[arg-type]
        ([DescriptorInput("SEIZ", True, "yes")], 10, "SEIZ.attributable_to_sle"),  # type: ignore[arg-type]
        ([], 14, "window_days"),
        ([], True, "window_days"),
        ([], "10", "window_days"),
    ],
)
def test_bad_input_raises_scoring_input_error_naming_the_field(
    items: list[DescriptorInput], window: object, field: str
) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        score_sledai2k(items, window_days=window)  # type: ignore[arg-type]
    assert excinfo.value.field == field
    assert str(excinfo.value).startswith(f"{field}: ")


def test_descriptors_are_exposed_in_form_order_with_categories() -> None:
    assert [d.code for d in DESCRIPTORS] == [
        "SEIZ", "PSYCH", "OBS", "VISUAL", "CRNERV", "HEADA", "CVA", "VASC", "ARTH", "MYOS",
        "CASTS", "HEMAT", "PROT", "PYUR", "RASH", "ALOP", "MUCUL", "PLEUR", "PERIC",
        "LOWCOMP", "DNA", "FEVER", "THROMB", "LEUK",
    ]  # fmt: skip
    hemat = DESCRIPTORS_BY_CODE["HEMAT"]
    assert (hemat.label, hemat.category, hemat.has_exclusion) == ("Haematuria", "renal", True)
    assert DESCRIPTORS_BY_CODE["DNA"].category == "immunological"
    assert all(d.definition for d in DESCRIPTORS)

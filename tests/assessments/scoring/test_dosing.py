"""Weight-based MSC dose: target, weight limits and the administered-dose tolerance."""

from decimal import Decimal

import pytest

from assessments.scoring import (
    WEIGHT_BASED_DOSE,
    ScoringInputError,
    check_administered,
    target_dose,
)


def test_65_kg_gives_130_million_cells() -> None:
    dose = target_dose(65)
    assert dose.target_cells == Decimal(130_000_000)
    assert dose.target_million_cells == Decimal(130)
    assert dose.cells_per_kg == Decimal(2_000_000)
    assert dose.warnings == ()
    assert (dose.calculator, dose.version) == (WEIGHT_BASED_DOSE.name, WEIGHT_BASED_DOSE.version)


def test_cells_per_kg_is_configurable_for_other_cohorts() -> None:
    assert target_dose("72.5", cells_per_kg="1e6").target_million_cells == Decimal("72.5")


@pytest.mark.parametrize("weight", ["29.9", "200.1", 0, -65])
def test_weight_outside_hard_limits_is_an_error(weight: object) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        target_dose(weight)  # type: ignore[arg-type]
    assert excinfo.value.field == "weight_kg"


@pytest.mark.parametrize(
    ("weight", "warned"),
    [(30, True), ("39.9", True), (40, False), (150, False), ("150.1", True), (200, True)],
)
def test_weight_outside_soft_limits_returns_a_warning(weight: object, warned: bool) -> None:
    dose = target_dose(weight)  # type: ignore[arg-type]
    assert bool(dose.warnings) is warned
    if warned:
        assert dose.warnings[0].startswith("weight_kg: ")


@pytest.mark.parametrize(
    ("administered", "deviation"),
    [("117", False), ("116.9", True), ("130", False), ("143", False), ("143.1", True), (0, True)],
)
def test_administered_within_ten_percent(administered: str, deviation: bool) -> None:
    check = check_administered(130, administered)
    assert check.deviation_required is deviation
    assert check.within_tolerance is not deviation
    assert (check.lower_million_cells, check.upper_million_cells) == (Decimal(117), Decimal(143))


def test_relative_difference_is_signed() -> None:
    assert check_administered(130, 117).relative_difference == Decimal("-0.1")
    assert check_administered(130, 143).relative_difference == Decimal("0.1")


def test_tolerance_is_configurable() -> None:
    assert check_administered(130, "123.5", tolerance="0.05").deviation_required is False
    assert check_administered(130, "123.4", tolerance="0.05").deviation_required is True


@pytest.mark.parametrize(
    ("target", "administered", "tolerance", "field"),
    [
        (130, -1, "0.1", "administered_million_cells"),
        (0, 100, "0.1", "target_million_cells"),
        (130, 130, 0, "tolerance"),
        (130, 130, 1, "tolerance"),
    ],
)
def test_bad_administration_inputs(
    target: object, administered: object, tolerance: object, field: str
) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        check_administered(target, administered, tolerance=tolerance)  # type: ignore[arg-type]
    assert excinfo.value.field == field


def test_target_feeds_the_check() -> None:
    dose = target_dose(65)
    assert check_administered(dose.target_million_cells, "120").deviation_required is False

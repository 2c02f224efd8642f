"""Weight-based cell dose: target from Day-0 weight, and the administered-dose tolerance check."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from assessments.scoring.base import Calculator, NumberLike, fmt, non_negative, positive
from assessments.scoring.errors import ScoringInputError

WEIGHT_BASED_DOSE = Calculator(name="MSC weight-based dose", version="1.0")

DEFAULT_CELLS_PER_KG = Decimal("2.0e6")
DEFAULT_TOLERANCE = Decimal("0.10")
MILLION = Decimal(1_000_000)
HARD_WEIGHT_LIMITS_KG = (Decimal(30), Decimal(200))
SOFT_WEIGHT_LIMITS_KG = (Decimal(40), Decimal(150))


@dataclass(frozen=True, slots=True)
class DoseTarget:
    """Target cells for one infusion; `warnings` lists soft-limit findings to confirm."""

    calculator: str
    version: str
    weight_kg: Decimal
    cells_per_kg: Decimal
    target_cells: Decimal
    target_million_cells: Decimal
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AdministrationCheck:
    """Administered versus target cells (both in 10^6), and whether a deviation is needed."""

    calculator: str
    version: str
    target_million_cells: Decimal
    administered_million_cells: Decimal
    tolerance: Decimal
    lower_million_cells: Decimal
    upper_million_cells: Decimal
    relative_difference: Decimal
    within_tolerance: bool
    deviation_required: bool


def target_dose(
    weight_kg: NumberLike, *, cells_per_kg: NumberLike = DEFAULT_CELLS_PER_KG
) -> DoseTarget:
    """Return target_cells = cells_per_kg * weight_kg, enforcing the weight limits.

    Weights outside 30-200 kg are rejected as entry errors; 30-40 and 150-200 kg are allowed
    but returned with a warning, because they are possible yet rare enough to confirm.
    """
    weight = positive(weight_kg, "weight_kg")
    per_kg = positive(cells_per_kg, "cells_per_kg")
    hard_low, hard_high = HARD_WEIGHT_LIMITS_KG
    if not hard_low <= weight <= hard_high:
        raise ScoringInputError(
            "weight_kg", f"{weight} kg is outside the accepted range {hard_low}-{hard_high} kg"
        )
    soft_low, soft_high = SOFT_WEIGHT_LIMITS_KG
    warnings: tuple[str, ...] = ()
    if not soft_low <= weight <= soft_high:
        message = f"weight_kg: {weight} kg is outside the usual range {soft_low}-{soft_high} kg"
        warnings = (f"{message}; confirm the Day-0 weight",)
    target = per_kg * weight
    return DoseTarget(
        calculator=WEIGHT_BASED_DOSE.name,
        version=WEIGHT_BASED_DOSE.version,
        weight_kg=weight,
        cells_per_kg=per_kg,
        target_cells=target,
        target_million_cells=target / MILLION,
        warnings=warnings,
    )


def check_administered(
    target_million_cells: NumberLike,
    administered_million_cells: NumberLike,
    *,
    tolerance: NumberLike = DEFAULT_TOLERANCE,
) -> AdministrationCheck:
    """Compare administered with target viable cells; the bounds are inclusive."""
    target = positive(target_million_cells, "target_million_cells")
    given = non_negative(administered_million_cells, "administered_million_cells")
    tol = positive(tolerance, "tolerance")
    if tol >= 1:
        raise ScoringInputError("tolerance", f"must be a fraction below 1, got {fmt(tol)}")
    lower = target * (1 - tol)
    upper = target * (1 + tol)
    within = lower <= given <= upper
    return AdministrationCheck(
        calculator=WEIGHT_BASED_DOSE.name,
        version=WEIGHT_BASED_DOSE.version,
        target_million_cells=target,
        administered_million_cells=given,
        tolerance=tol,
        lower_million_cells=lower,
        upper_million_cells=upper,
        relative_difference=(given - target) / target,
        within_tolerance=within,
        deviation_required=not within,
    )

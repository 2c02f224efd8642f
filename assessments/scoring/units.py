"""Exact unit conversions for UPCR (canonical g/g) and serum creatinine (mg/dL, umol/L)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal
from types import MappingProxyType

from assessments.scoring.base import Calculator, NumberLike, non_negative, positive
from assessments.scoring.errors import ScoringInputError

UNIT_CONVERSION = Calculator(name="Unit conversion", version="1.0")

# Molar mass of creatinine, g/mol: 1 mmol creatinine weighs 113.12 mg.
CREATININE_MG_PER_MMOL = Decimal("113.12")
# Conventional factor used by laboratories and by the CKD-EPI papers.
CREATININE_UMOL_L_PER_MG_DL = Decimal("88.4")

# 34 significant digits (IEEE decimal128): quotients such as x/113.12 do not terminate, and
# at this precision the rounding sits some twenty orders of magnitude below any clinical
# threshold, so comparisons against 0.5 or 3.0 g/g are decided exactly.
_CONTEXT = Context(prec=34)

UPCR_CANONICAL_UNIT = "g/g"
CREATININE_MG_DL = "mg/dL"
CREATININE_UMOL_L = "umol/L"

# How many canonical g/g one unit of each entered UPCR unit is worth, as a divisor.
_UPCR_DIVISORS: MappingProxyType[str, Decimal] = MappingProxyType(
    {
        "g/g": Decimal(1),
        "mg/mg": Decimal(1),
        "mg/g": Decimal(1000),
        "mg/mmol": CREATININE_MG_PER_MMOL,
    }
)

# Spellings of micromol/L seen on lab reports (ASCII u, micro sign, Greek mu).
_CREATININE_UNITS: MappingProxyType[str, str] = MappingProxyType(
    {
        "mg/dL": CREATININE_MG_DL,
        "umol/L": CREATININE_UMOL_L,
        "\u00b5mol/L": CREATININE_UMOL_L,
        "\u03bcmol/L": CREATININE_UMOL_L,
    }
)

UPCR_UNITS: tuple[str, ...] = tuple(_UPCR_DIVISORS)
CREATININE_UNITS: tuple[str, ...] = tuple(_CREATININE_UNITS)


@dataclass(frozen=True, slots=True)
class UpcrValue:
    """A urine protein/creatinine ratio in canonical g/g, with the value as entered."""

    calculator: str
    version: str
    original_value: Decimal
    original_unit: str
    g_per_g: Decimal


@dataclass(frozen=True, slots=True)
class CreatinineValue:
    """A serum creatinine in both conventional units, with the value as entered."""

    calculator: str
    version: str
    original_value: Decimal
    original_unit: str
    mg_dl: Decimal
    umol_l: Decimal


def upcr_to_g_per_g(value: NumberLike, unit: str, *, field: str = "upcr") -> UpcrValue:
    """Convert a UPCR entered in mg/mmol, mg/g, g/g or mg/mg to canonical g/g."""
    amount = non_negative(value, field)
    divisor = _UPCR_DIVISORS.get(unit)
    if divisor is None:
        raise ScoringInputError(
            f"{field}_unit", f"unknown UPCR unit {unit!r}; expected one of {', '.join(UPCR_UNITS)}"
        )
    return UpcrValue(
        calculator=UNIT_CONVERSION.name,
        version=UNIT_CONVERSION.version,
        original_value=amount,
        original_unit=unit,
        g_per_g=_CONTEXT.divide(amount, divisor),
    )


def upcr_from_g_per_g(g_per_g: NumberLike, unit: str, *, field: str = "upcr") -> Decimal:
    """Express a canonical g/g value in another UPCR unit (for display next to the original)."""
    amount = non_negative(g_per_g, field)
    divisor = _UPCR_DIVISORS.get(unit)
    if divisor is None:
        raise ScoringInputError(
            f"{field}_unit", f"unknown UPCR unit {unit!r}; expected one of {', '.join(UPCR_UNITS)}"
        )
    return _CONTEXT.multiply(amount, divisor)


def creatinine(value: NumberLike, unit: str, *, field: str = "creatinine") -> CreatinineValue:
    """Convert a serum creatinine between mg/dL and umol/L (factor 88.4)."""
    amount = positive(value, field)
    canonical = _CREATININE_UNITS.get(unit)
    if canonical is None:
        raise ScoringInputError(
            f"{field}_unit",
            f"unknown creatinine unit {unit!r}; expected mg/dL or umol/L",
        )
    if canonical == CREATININE_MG_DL:
        mg_dl = amount
        umol_l = _CONTEXT.multiply(amount, CREATININE_UMOL_L_PER_MG_DL)
    else:
        mg_dl = _CONTEXT.divide(amount, CREATININE_UMOL_L_PER_MG_DL)
        umol_l = amount
    return CreatinineValue(
        calculator=UNIT_CONVERSION.name,
        version=UNIT_CONVERSION.version,
        original_value=amount,
        original_unit=canonical,
        mg_dl=mg_dl,
        umol_l=umol_l,
    )


# Serum albumin: 1 g/L is 0.1 g/dL (canonical g/dL).
ALBUMIN_CANONICAL_UNIT = "g/dL"
ALBUMIN_FACTORS: MappingProxyType[str, Decimal] = MappingProxyType(
    {"g/dL": Decimal(1), "g/L": Decimal("0.1")}
)
# 24-hour urine protein: 1 mg/day is 0.001 g/day (canonical g/day).
PROTEINURIA_CANONICAL_UNIT = "g/day"
PROTEINURIA_FACTORS: MappingProxyType[str, Decimal] = MappingProxyType(
    {"g/day": Decimal(1), "mg/day": Decimal("0.001")}
)


@dataclass(frozen=True, slots=True)
class CanonicalValue:
    """A result in its canonical unit, with the value and unit as entered."""

    calculator: str
    version: str
    original_value: Decimal
    original_unit: str
    value: Decimal
    unit: str


def _to_canonical(
    value: NumberLike,
    unit: str,
    *,
    field: str,
    what: str,
    factors: MappingProxyType[str, Decimal],
    canonical: str,
) -> CanonicalValue:
    amount = non_negative(value, field)
    factor = factors.get(unit)
    if factor is None:
        raise ScoringInputError(
            f"{field}_unit", f"unknown {what} unit {unit!r}; expected one of {', '.join(factors)}"
        )
    return CanonicalValue(
        calculator=UNIT_CONVERSION.name,
        version=UNIT_CONVERSION.version,
        original_value=amount,
        original_unit=unit,
        value=_CONTEXT.multiply(amount, factor),
        unit=canonical,
    )


def albumin_to_g_dl(value: NumberLike, unit: str, *, field: str = "albumin") -> CanonicalValue:
    """Convert a serum albumin entered in g/L or g/dL to canonical g/dL (g/L x 0.1)."""
    return _to_canonical(
        value,
        unit,
        field=field,
        what="albumin",
        factors=ALBUMIN_FACTORS,
        canonical=ALBUMIN_CANONICAL_UNIT,
    )


def proteinuria_to_g_per_day(
    value: NumberLike, unit: str, *, field: str = "proteinuria_24h"
) -> CanonicalValue:
    """Convert a 24-hour urine protein entered in mg/day or g/day to canonical g/day."""
    return _to_canonical(
        value,
        unit,
        field=field,
        what="24-hour proteinuria",
        factors=PROTEINURIA_FACTORS,
        canonical=PROTEINURIA_CANONICAL_UNIT,
    )

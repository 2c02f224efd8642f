"""CKD-EPI creatinine eGFR: the 2021 race-free equation (default) and 2009 (reference only)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from assessments.scoring.base import Calculator, NumberLike, to_decimal
from assessments.scoring.errors import ScoringInputError
from assessments.scoring.units import CREATININE_MG_DL, creatinine

CKD_EPI_2021 = Calculator(name="CKD-EPI creatinine", version="2021")
CKD_EPI_2009 = Calculator(name="CKD-EPI creatinine", version="2009")
EQUATIONS: MappingProxyType[str, Calculator] = MappingProxyType(
    {"2021": CKD_EPI_2021, "2009": CKD_EPI_2009}
)
EGFR_UNIT = "mL/min/1.73m2"
MIN_AGE_YEARS = 18
MAX_AGE_YEARS = 120

_SEXES = MappingProxyType({"f": "F", "female": "F", "m": "M", "male": "M"})


@dataclass(frozen=True, slots=True)
class _Coefficients:
    constant: float
    kappa: float
    alpha: float
    beta: float
    age_base: float
    female_factor: float


_COEFFICIENTS = MappingProxyType(
    {
        ("2021", "F"): _Coefficients(142.0, 0.7, -0.241, -1.200, 0.9938, 1.012),
        ("2021", "M"): _Coefficients(142.0, 0.9, -0.302, -1.200, 0.9938, 1.0),
        ("2009", "F"): _Coefficients(141.0, 0.7, -0.329, -1.209, 0.993, 1.018),
        ("2009", "M"): _Coefficients(141.0, 0.9, -0.411, -1.209, 0.993, 1.0),
    }
)
_BLACK_FACTOR_2009 = 1.159


@dataclass(frozen=True, slots=True)
class EgfrResult:
    """An eGFR in mL/min/1.73 m2 reported to one decimal, with the exact inputs used."""

    calculator: str
    version: str
    equation: str
    egfr: Decimal
    egfr_unrounded: float
    unit: str
    age_years: Decimal
    sex: str
    black: bool | None
    creatinine_mg_dl: Decimal
    creatinine_original_value: Decimal
    creatinine_original_unit: str


def _normalise_sex(sex: str) -> str:
    normalised = _SEXES.get(sex.strip().lower()) if isinstance(sex, str) else None
    if normalised is None:
        raise ScoringInputError("sex", f"unknown sex {sex!r}; expected 'F' or 'M'")
    return normalised


def _check_age(age_years: NumberLike) -> Decimal:
    age = to_decimal(age_years, "age_years")
    if age < MIN_AGE_YEARS:
        raise ScoringInputError("age_years", f"CKD-EPI is validated from 18 years, got {age}")
    if age > MAX_AGE_YEARS:
        raise ScoringInputError("age_years", f"implausible age {age}")
    return age


def _round_one_decimal(value: float) -> Decimal:
    # Round the shortest repr half-up so 75.45 reports as 75.5, as a person would round it.
    return Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def ckd_epi_raw(scr_mg_dl: float, age_years: float, sex: str, equation: str, black: bool) -> float:
    """Evaluate the equation with no rounding at any step (inputs already validated)."""
    c = _COEFFICIENTS[(equation, sex)]
    ratio = scr_mg_dl / c.kappa
    # Powers of floats are typed Any; the annotation pins the result back to float.
    value: float = (
        c.constant
        * min(ratio, 1.0) ** c.alpha
        * max(ratio, 1.0) ** c.beta
        * c.age_base**age_years
        * c.female_factor
    )
    if black:
        value *= _BLACK_FACTOR_2009
    return value


def egfr_ckd_epi(
    *,
    age_years: NumberLike,
    sex: str,
    creatinine_value: NumberLike,
    creatinine_unit: str = CREATININE_MG_DL,
    equation: str = "2021",
    black: bool | None = None,
) -> EgfrResult:
    """Estimate GFR with CKD-EPI creatinine; `black` applies only to the 2009 equation."""
    calculator = EQUATIONS.get(equation)
    if calculator is None:
        raise ScoringInputError("equation", f"unknown CKD-EPI equation {equation!r}")
    if equation == "2021" and black is not None:
        # The 2021 refit removed race; accepting the flag would suggest it had an effect.
        raise ScoringInputError("black", "the 2021 equation has no race coefficient")
    if equation == "2009" and black is None:
        black = False
    if black is not None and not isinstance(black, bool):
        raise ScoringInputError("black", f"expected True or False, got {black!r}")
    sex_code = _normalise_sex(sex)
    age = _check_age(age_years)
    scr = creatinine(creatinine_value, creatinine_unit, field="creatinine")
    raw = ckd_epi_raw(float(scr.mg_dl), float(age), sex_code, equation, bool(black))
    label = "CKD-EPI 2021 (race-free)" if equation == "2021" else "CKD-EPI 2009"
    return EgfrResult(
        calculator=calculator.name,
        version=calculator.version,
        equation=label,
        egfr=_round_one_decimal(raw),
        egfr_unrounded=raw,
        unit=EGFR_UNIT,
        age_years=age,
        sex=sex_code,
        black=black,
        creatinine_mg_dl=scr.mg_dl,
        creatinine_original_value=scr.original_value,
        creatinine_original_unit=scr.original_unit,
    )

"""Shared building blocks: calculator identity and strict numeric coercion."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation

from assessments.scoring.errors import ScoringInputError

NumberLike = Decimal | int | float | str


@dataclass(frozen=True, slots=True)
class Calculator:
    """Stable identity of a calculator, stored beside every result it produces."""

    name: str
    version: str


def to_decimal(value: object, field: str) -> Decimal:
    """Return `value` as a finite Decimal, or raise naming `field`.

    Floats go through their shortest repr so that 0.9 becomes Decimal("0.9"), not the
    binary approximation; otherwise thresholds such as 0.9*G0 would drift by an ulp.
    """
    if isinstance(value, bool) or value is None:
        raise ScoringInputError(field, f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ScoringInputError(field, f"not a number: {value!r}") from None
    else:
        raise ScoringInputError(field, f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ScoringInputError(field, f"must be finite, got {value!r}")
    return result


def non_negative(value: object, field: str) -> Decimal:
    """Coerce to Decimal and reject values below zero."""
    result = to_decimal(value, field)
    if result < 0:
        raise ScoringInputError(field, f"must not be negative, got {result}")
    return result


def positive(value: object, field: str) -> Decimal:
    """Coerce to Decimal and reject zero or negative values."""
    result = to_decimal(value, field)
    if result <= 0:
        raise ScoringInputError(field, f"must be greater than 0, got {result}")
    return result


def to_count(value: object, field: str) -> int:
    """Return a non-negative integer count (joints, days), rejecting bools and fractions."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScoringInputError(field, f"expected a whole number, got {value!r}")
    if value < 0:
        raise ScoringInputError(field, f"must not be negative, got {value}")
    return value


def to_flag(value: object, field: str, *, optional: bool = False) -> bool | None:
    """Return an explicit boolean; None is accepted only when `optional` is set."""
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise ScoringInputError(field, f"expected True or False, got {value!r}")
    return value


def fmt(value: Decimal) -> str:
    """Render a number for a human-readable reason: at least one decimal, at most six."""
    digits, exponent = value.as_tuple()[1:]
    if isinstance(exponent, int) and exponent < -6:
        # Precise enough for any number of digits: the default 28 would fail on a long one.
        value = value.quantize(Decimal("0.000001"), context=Context(prec=len(digits) + 7))
    text = format(value, "f")
    if "." not in text:
        return f"{text}.0"
    text = text.rstrip("0")
    return f"{text}0" if text.endswith(".") else text

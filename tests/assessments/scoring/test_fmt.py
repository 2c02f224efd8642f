"""How a number is written in a reason or a reported value: at least one decimal, at most six,
never in exponent notation, whatever its size."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessments.scoring.base import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("100", "100.0"),
        ("0.5", "0.5"),
        ("0.50", "0.5"),
        # Six decimals are kept as they are; a seventh rounds the sixth.
        ("0.123456", "0.123456"),
        ("0.1234567", "0.123457"),
        ("0.0000004", "0.0"),
        # A positive exponent is written out in full.
        ("1E+3", "1000.0"),
        ("2.5E+2", "250.0"),
        # Long numbers with up to six decimals are written in full, not cut to 28 digits.
        ("12345678901234567890123456", "12345678901234567890123456.0"),
        ("12345678901234567890123.456789", "12345678901234567890123.456789"),
        # ... and so are long numbers with more: rounding them needs more than 28 digits.
        ("12345678901234567890123.1234567", "12345678901234567890123.123457"),
        ("-98765432109876543210987654321.00000049", "-98765432109876543210987654321.0"),
    ],
)
def test_numbers_are_written_plainly(value: str, text: str) -> None:
    assert fmt(Decimal(value)) == text

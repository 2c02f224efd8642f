"""Site-scoped identifiers: sequential numbers with a Luhn mod 36 check character."""

from __future__ import annotations

import string

ALPHABET = string.digits + string.ascii_uppercase


def check_character(payload: str) -> str:
    """Luhn mod N over digits and letters: catches any single error and most transpositions."""
    base = len(ALPHABET)
    factor = 2
    total = 0
    for char in reversed(payload.upper()):
        if char not in ALPHABET:
            continue
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // base + addend % base
    return ALPHABET[(base - total % base) % base]


def subject_identifier(site_code: str, number: int) -> str:
    """E.g. VA01-007-K: site code, number at the site, check character."""
    payload = f"{site_code}-{number:03d}"
    return f"{payload}-{check_character(payload)}"


def screening_number(site_code: str, number: int) -> str:
    return f"{site_code}-S{number:03d}"


def is_valid_subject_identifier(value: str) -> bool:
    payload, _, check = value.rpartition("-")
    return bool(payload) and len(check) == 1 and check_character(payload) == check

"""Site-scoped identifiers: sequential numbers with a Luhn mod 36 check character."""

from __future__ import annotations

import re
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


# Site code, number at the site (at least 3 digits), check character: VA01-007-K.
SUBJECT_IDENTIFIER = re.compile(r"(?P<payload>[A-Z0-9]{2,6}-[0-9]{3,})-(?P<check>[0-9A-Z])")


def is_valid_subject_identifier(value: str) -> bool:
    # The check character skips separators, so the shape is checked on its own: otherwise a
    # letter typed in place of a hyphen can still match.
    match = SUBJECT_IDENTIFIER.fullmatch(value)
    return match is not None and check_character(match["payload"]) == match["check"]

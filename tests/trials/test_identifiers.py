"""Subject identifiers: the Luhn mod 36 check character and the identifier validator."""

from __future__ import annotations

import itertools

import pytest

from trials.identifiers import (
    ALPHABET,
    check_character,
    is_valid_subject_identifier,
    screening_number,
    subject_identifier,
)

SAMPLES = [("VA01", 1), ("VA01", 7), ("VA01", 999), ("SA01", 17), ("SA01", 120), ("SA01", 1234)]


def substitutions(text: str, alternatives: str, *, separators: bool = True):
    for index, char in enumerate(text):
        if char == "-" and not separators:
            continue
        for other in alternatives:
            if other != char:
                yield text[:index] + other + text[index + 1 :]


def transpositions(text: str):
    """Every swap of two neighbouring, different letters or digits."""
    for index in range(len(text) - 1):
        left, right = text[index], text[index + 1]
        if left != right and left in ALPHABET and right in ALPHABET:
            yield text[:index] + right + left + text[index + 2 :]


def test_identifier_shape() -> None:
    assert subject_identifier("VA01", 7) == f"VA01-007-{check_character('VA01-007')}"
    assert subject_identifier("SA01", 1234).startswith("SA01-1234-")
    assert screening_number("VA01", 12) == "VA01-S012"
    assert check_character("va01-007") == check_character("VA01-007")


@pytest.mark.parametrize(("site", "number"), SAMPLES)
def test_check_character_catches_every_single_substitution(site: str, number: int) -> None:
    payload = subject_identifier(site, number).rpartition("-")[0]
    check = check_character(payload)
    changed = list(substitutions(payload, ALPHABET, separators=False))
    assert len(changed) == 35 * (len(payload) - 1)
    assert [c for c in changed if check_character(c) == check] == []


@pytest.mark.parametrize(("site", "number"), SAMPLES)
def test_check_character_catches_every_adjacent_transposition(site: str, number: int) -> None:
    payload = subject_identifier(site, number).rpartition("-")[0]
    changed = list(transpositions(payload))
    assert changed, "the sample has something to transpose"
    assert [c for c in changed if check_character(c) == check_character(payload)] == []


def test_the_only_transposition_luhn_mod_36_cannot_see_is_0_and_z() -> None:
    # Doubling maps 0 -> 0 and Z (35) -> 70 -> 1 + 34 = 35: swapping them keeps the sum.
    missed = {
        frozenset((a, b))
        for a, b in itertools.combinations(ALPHABET, 2)
        for prefix in ("", "7", "K4")
        if check_character(f"{prefix}{a}{b}1") == check_character(f"{prefix}{b}{a}1")
    }
    assert missed == {frozenset("0Z")}


@pytest.mark.parametrize(("site", "number"), SAMPLES)
def test_issued_identifiers_are_valid_and_every_typing_slip_is_not(site: str, number: int) -> None:
    identifier = subject_identifier(site, number)
    assert is_valid_subject_identifier(identifier)
    accepted = [
        typed
        for typed in itertools.chain(
            substitutions(identifier, ALPHABET + "-"), transpositions(identifier)
        )
        if is_valid_subject_identifier(typed)
    ]
    assert accepted == []


def test_malformed_identifiers_are_invalid_even_with_a_matching_check_character() -> None:
    def signed(payload: str) -> str:
        return f"{payload}-{check_character(payload)}"

    for value in (
        "",
        "VA01-007",
        "VA01-007-",
        signed("VA01L007"),  # a letter typed for the separator
        signed("VA01-07"),  # number too short
        signed("V-007"),  # site code too short
        signed("VA01--007"),
        signed("VA01-007") + "X",
        signed("VA01-007").lower(),
        " " + signed("VA01-007"),
    ):
        assert not is_valid_subject_identifier(value), value

"""SLEDAI-2K proposals: the comparison each one shows the investigator, word for word, on both
sides of its threshold, and the inputs each one refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessments.scoring import ScoringInputError
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


@pytest.mark.parametrize(
    ("propose", "code", "basis"),
    [
        (lambda: propose_proteinuria("0.5"), "PROT", "proteinuria 0.5 g/24h > 0.5: no"),
        (
            lambda: propose_proteinuria("0.51", specimen="spot UPCR"),
            "PROT",
            "proteinuria 0.51 g/g > 0.5: yes",
        ),
        (lambda: propose_haematuria(5), "HEMAT", "urine RBC 5/hpf > 5: no"),
        (lambda: propose_haematuria(6), "HEMAT", "urine RBC 6/hpf > 5: yes"),
        (lambda: propose_pyuria(5), "PYUR", "urine WBC 5/hpf > 5: no"),
        (lambda: propose_pyuria(6), "PYUR", "urine WBC 6/hpf > 5: yes"),
        (lambda: propose_thrombocytopenia(100), "THROMB", "platelets 100 x10^9/L < 100: no"),
        (lambda: propose_thrombocytopenia(99), "THROMB", "platelets 99 x10^9/L < 100: yes"),
        (lambda: propose_leukopenia(3), "LEUK", "WBC 3 x10^9/L < 3: no"),
        (lambda: propose_leukopenia("2.9"), "LEUK", "WBC 2.9 x10^9/L < 3: yes"),
        (lambda: propose_fever("38.0"), "FEVER", "temperature 38.0 C > 38.0: no"),
        (lambda: propose_fever("38.1"), "FEVER", "temperature 38.1 C > 38.0: yes"),
        (lambda: propose_anti_dsdna(30, 30), "DNA", "anti-dsDNA 30 > ULN 30: no"),
        (lambda: propose_anti_dsdna(31, 30), "DNA", "anti-dsDNA 31 > ULN 30: yes"),
        (lambda: propose_arthritis(2), "ARTH", "2 joints >=2: yes"),
        (lambda: propose_arthritis(2, rule=">2"), "ARTH", "2 joints >2: no"),
        (lambda: propose_low_complement(c3=90, c3_lln=90), "LOWCOMP", "C3 90 < LLN 90: no"),
        (
            lambda: propose_low_complement(c3=90, c3_lln=90, c4=9, c4_lln=10, ch50=50, ch50_lln=40),
            "LOWCOMP",
            "C3 90 < LLN 90 or C4 9 < LLN 10 or CH50 50 < LLN 40: yes",
        ),
        (
            lambda: propose_low_complement(ch50=39, ch50_lln=40),
            "LOWCOMP",
            "CH50 39 < LLN 40: yes",
        ),
    ],
)
def test_each_proposal_shows_its_comparison(propose, code, basis) -> None:
    # Proposed inside the test, so that mutation testing counts the test as covering it.
    proposal = propose()
    assert (proposal.code, proposal.basis) == (code, basis)
    assert proposal.present is basis.endswith(": yes")
    assert (proposal.calculator, proposal.version) == ("SLEDAI-2K item proposals", "1.0")


def test_the_specimen_is_kept() -> None:
    assert propose_proteinuria("1").specimen == "24h urine"
    assert propose_proteinuria("1", specimen="spot UPCR").specimen == "spot UPCR"


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (
            lambda: propose_proteinuria("1", specimen="urine"),  # type: ignore[arg-type]
            "specimen",
            "unknown specimen 'urine'",
        ),
        (lambda: propose_fever("hot"), "temperature_c", "not a number: 'hot'"),
        (lambda: propose_anti_dsdna(1, -1), "anti_dsdna_uln", "must not be negative, got -1"),
        (
            lambda: propose_low_complement(c3=90),
            "c3_lln",
            "a complement result needs both value and LLN",
        ),
        (
            lambda: propose_low_complement(c4_lln=10),
            "c4",
            "a complement result needs both value and LLN",
        ),
        (lambda: propose_low_complement(c3=-1, c3_lln=90), "c3", "must not be negative, got -1"),
        (
            lambda: propose_low_complement(ch50=40),
            "ch50_lln",
            "a complement result needs both value and LLN",
        ),
        (
            lambda: propose_low_complement(c3=1, c3_lln=-90),
            "c3_lln",
            "must not be negative, got -90",
        ),
        (
            lambda: propose_low_complement(),
            "c3",
            "give at least one of C3, C4 or CH50 with its LLN",
        ),
        (
            lambda: propose_arthritis(2, rule=">3"),  # type: ignore[arg-type]
            "rule",
            "arthritis rule must be '>=2' or '>2', got '>3'",
        ),
    ],
)
def test_a_refused_proposal_input_names_its_field(call, field, message) -> None:
    with pytest.raises(ScoringInputError) as caught:
        call()
    assert (caught.value.field, caught.value.message) == (field, message)


def test_the_attribution_of_a_descriptor_without_exclusion_is_refused() -> None:
    with pytest.raises(ScoringInputError) as caught:
        propose_anti_dsdna(Decimal(31), 30).to_input(attributable_to_sle=True)
    assert (caught.value.field, caught.value.message) == (
        "DNA.attributable_to_sle",
        "DNA has no exclusion clause",
    )

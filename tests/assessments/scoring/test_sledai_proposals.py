"""Lab-driven SLEDAI-2K proposals: strict thresholds, and no score without attribution."""

from decimal import Decimal

import pytest

from assessments.scoring import ScoringInputError, score_sledai2k, upcr_to_g_per_g
from assessments.scoring.sledai_proposals import (
    SLEDAI_2K_PROPOSALS,
    Proposal,
    propose_anti_dsdna,
    propose_arthritis,
    propose_fever,
    propose_haematuria,
    propose_leukopenia,
    propose_low_complement,
    propose_proteinuria,
    propose_proteinuria_from_upcr,
    propose_pyuria,
    propose_thrombocytopenia,
)


@pytest.mark.parametrize(
    ("proposal", "code", "present"),
    [
        (propose_proteinuria("0.50"), "PROT", False),
        (propose_proteinuria("0.51"), "PROT", True),
        (propose_haematuria(5), "HEMAT", False),
        (propose_haematuria(6), "HEMAT", True),
        (propose_pyuria(5), "PYUR", False),
        (propose_pyuria("5.5"), "PYUR", True),
        (propose_thrombocytopenia(100), "THROMB", False),
        (propose_thrombocytopenia(99), "THROMB", True),
        (propose_leukopenia("3.0"), "LEUK", False),
        (propose_leukopenia("2.9"), "LEUK", True),
        (propose_fever("38.0"), "FEVER", False),
        (propose_fever("38.1"), "FEVER", True),
        (propose_anti_dsdna(100, 100), "DNA", False),
        (propose_anti_dsdna(101, 100), "DNA", True),
        (propose_low_complement(c3="0.9", c3_lln="0.9"), "LOWCOMP", False),
        (propose_low_complement(c3="0.89", c3_lln="0.9"), "LOWCOMP", True),
    ],
)
def test_thresholds_are_strict(proposal: Proposal, code: str, present: bool) -> None:
    assert proposal.code == code
    assert proposal.present is present
    assert proposal.basis.endswith(": yes" if present else ": no")
    assert (proposal.calculator, proposal.version) == (
        SLEDAI_2K_PROPOSALS.name,
        SLEDAI_2K_PROPOSALS.version,
    )


def test_proposal_basis_shows_the_comparison() -> None:
    assert propose_proteinuria("0.50").basis == "proteinuria 0.50 g/24h > 0.5: no"
    assert propose_thrombocytopenia(85).basis == "platelets 85 x10^9/L < 100: yes"


def test_any_low_complement_component_proposes_lowcomp() -> None:
    proposal = propose_low_complement(c3="1.1", c3_lln="0.9", c4="0.05", c4_lln="0.1")
    assert proposal.present is True
    assert "C3 1.1 < LLN 0.9" in proposal.basis
    assert "C4 0.05 < LLN 0.1" in proposal.basis


def test_spot_upcr_may_stand_in_and_records_its_specimen() -> None:
    at_limit = propose_proteinuria_from_upcr(upcr_to_g_per_g("56.56", "mg/mmol"))
    above = propose_proteinuria_from_upcr(upcr_to_g_per_g(57, "mg/mmol"))
    assert at_limit.present is False
    assert above.present is True
    assert above.specimen == "spot UPCR"
    assert propose_proteinuria("2.1").specimen == "24h urine"


@pytest.mark.parametrize(
    ("joints", "rule", "present"),
    [(1, ">=2", False), (2, ">=2", True), (2, ">2", False), (3, ">2", True), (3, ">=2", True)],
)
def test_arthritis_threshold_is_configurable(joints: int, rule: str, present: bool) -> None:
    assert propose_arthritis(joints, rule=rule).present is present  # type: ignore[arg-type]


def test_exclusion_proposals_need_attribution_before_they_score() -> None:
    proposal = propose_haematuria(15)
    assert proposal.needs_attribution is True
    assert score_sledai2k([proposal.to_input()]).total == 0
    assert score_sledai2k([proposal.to_input(attributable_to_sle=True)]).total == 4


def test_non_exclusion_proposals_score_directly_and_refuse_attribution() -> None:
    proposal = propose_proteinuria("2.1")
    assert proposal.needs_attribution is False
    assert score_sledai2k([proposal.to_input()]).total == 4
    with pytest.raises(ScoringInputError) as excinfo:
        proposal.to_input(attributable_to_sle=True)
    assert excinfo.value.field == "PROT.attributable_to_sle"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: propose_haematuria(-1), "urine_rbc_hpf"),
        (lambda: propose_pyuria(-2), "urine_wbc_hpf"),
        (lambda: propose_thrombocytopenia(-5), "platelets"),
        (lambda: propose_leukopenia("-0.1"), "wbc"),
        (lambda: propose_proteinuria(-1), "proteinuria"),
        (lambda: propose_arthritis(-1), "joint_count"),
        (lambda: propose_arthritis(2, rule="2+"), "rule"),  # type: ignore[arg-type]
        (lambda: propose_proteinuria(1, specimen="blood"), "specimen"),  # type: ignore[arg-type]
        (lambda: propose_low_complement(c3="0.5"), "c3_lln"),
        (lambda: propose_low_complement(c4_lln="0.1"), "c4"),
        (lambda: propose_low_complement(), "c3"),
        (lambda: propose_anti_dsdna("x", 100), "anti_dsdna"),
    ],
)
def test_bad_lab_values_are_rejected(call: object, field: str) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        call()  # type: ignore[operator]
    assert excinfo.value.field == field


def test_decimal_values_are_kept_exact_in_the_basis() -> None:
    assert propose_fever(Decimal("38.05")).basis == "temperature 38.05 C > 38.0: yes"

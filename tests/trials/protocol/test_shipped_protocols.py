"""The two shipped trial definitions load and say what the registry records say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trials.protocol import (
    FORM_CODES,
    ProtocolDefinition,
    ProtocolError,
    parse_protocol_file,
    parse_protocol_text,
)

from .support import TRIAL_A, TRIAL_B

# The registry records the definitions were written from, shipped beside them.
REGISTRY = Path(__file__).resolve().parents[3] / "protocols" / "registry"


@pytest.fixture(scope="module")
def trial_a() -> ProtocolDefinition:
    return parse_protocol_file(TRIAL_A)


@pytest.fixture(scope="module")
def trial_b() -> ProtocolDefinition:
    return parse_protocol_file(TRIAL_B)


def _seed_containing(nct: str) -> str:
    return (REGISTRY / f"{nct}.txt").read_text(encoding="utf-8")


def test_trial_a_identity(trial_a: ProtocolDefinition) -> None:
    assert (trial_a.code, trial_a.version, trial_a.format) == ("MSVLE", "1.6", "ecrf-protocol/1")
    assert trial_a.identifiers.nct == "NCT03673748"
    assert trial_a.identifiers.eudract == "2022-000243-80"
    assert trial_a.identifiers.sponsor_code == "TerCel_006"
    assert trial_a.masking == "triple"
    assert trial_a.masked_parties == ("participant", "care_provider", "investigator")
    assert "double-blind" in (trial_a.masking_note or "")
    assert trial_a.planned_enrollment == 20


def test_trial_a_criteria_counts_and_verbatim_text(trial_a: ProtocolDefinition) -> None:
    inclusion, exclusion = trial_a.eligibility.inclusion, trial_a.eligibility.exclusion
    assert len(inclusion) == 7
    assert len(exclusion) == 25
    assert inclusion[4].code == "IN05"
    assert inclusion[4].text == "SLEDAI-2K ≥ 10 during the selection period."
    assert exclusion[10].text == (
        "Thromboembolic events in the 12 months prior to or during selection, whether or not "
        "associated with associated antiphospholipid syndrome, or inadequate anticoagulation "
        "tests 6 weeks immediately prior to or during selection visit."
    )
    assert exclusion[24].text == "Legal incapacity."
    groups = [c.group for c in exclusion]
    assert groups.count("A - Related to previous treatments") == 7
    assert groups.count("B - Related to medical problems") == 15
    assert groups.count("C - Laboratory abnormalities") == 2
    assert groups.count("D - Others") == 1


def test_trial_a_criteria_match_the_seed_record(trial_a: ProtocolDefinition) -> None:
    seed = _seed_containing("NCT03673748")
    numbered = dict(re.findall(r"^(\d+)\. (.+)$", seed, flags=re.MULTILINE))
    assert len(numbered) == 25  # inclusion 1-7 are overwritten by exclusion 1-7 in this map
    for criterion in trial_a.eligibility.exclusion:
        assert numbered[str(criterion.number)] == criterion.text
    for criterion in trial_a.eligibility.inclusion:
        assert f"{criterion.number}. {criterion.text}\n" in seed


def test_trial_b_criteria_match_the_seed_record(trial_b: ProtocolDefinition) -> None:
    seed = _seed_containing("NCT03917797")
    for criterion in (*trial_b.eligibility.inclusion, *trial_b.eligibility.exclusion):
        assert criterion.text in seed, criterion.code
        if criterion.group:
            assert criterion.group in seed


def test_trial_a_schedule(trial_a: ProtocolDefinition) -> None:
    schedule = [(v.code, v.day, v.window_before, v.window_after) for v in trial_a.visits]
    assert schedule == [
        ("SEL", -28, 0, 27),
        ("RAND", -7, 0, 7),
        ("D0", 0, 0, 0),
        ("W1", 7, 2, 2),
        ("W4", 28, 3, 3),
        ("W8", 56, 7, 7),
        ("W12", 84, 7, 7),
        ("W16", 112, 7, 7),
        ("W20", 140, 7, 7),
        ("W24", 168, 7, 7),
        ("FU52", 364, 14, 14),
    ]
    assert trial_a.primary_visit.code == "W24"
    assert trial_a.visit("FU52").optional
    assert [v.code for v in trial_a.dosing_visits] == ["D0"]
    assert "infusion" in trial_a.visit("D0").forms


def test_trial_a_design(trial_a: ProtocolDefinition) -> None:
    assert [(a.code, a.type, a.ratio) for a in trial_a.arms] == [
        ("MSC", "experimental", 1),
        ("PLACEBO", "placebo_comparator", 1),
    ]
    [stage] = trial_a.stages
    assert (stage.kind, stage.blinded, stage.cohorts) == ("randomized", True, ())
    assert trial_a.dosing.cells_per_kg == 2.0e6
    assert trial_a.dosing.volume_ml == 100
    assert trial_a.response.rule_set == "eular2019"
    assert trial_a.response.primary_visit == "W24"
    sledai = trial_a.parameters["sledai_min_at_selection"]
    assert sledai.value == 10
    assert "6" in (sledai.note or "")
    [site] = trial_a.sites
    assert (site.code, site.country, site.time_zone) == ("VA01", "ES", "Europe/Madrid")
    assert trial_a.randomization is not None
    assert trial_a.randomization.strata == ("site",)


def test_trial_b_design(trial_b: ProtocolDefinition) -> None:
    assert (trial_b.code, trial_b.identifiers.nct) == ("MSCROLE", "NCT03917797")
    assert trial_b.masking == "quadruple"
    assert len(trial_b.masked_parties) == 4
    assert trial_b.planned_enrollment == 39
    escalation, randomized = trial_b.stages
    assert (escalation.kind, escalation.blinded, escalation.order) == ("dose_escalation", False, 1)
    assert [c.dose_cells_per_kg for c in escalation.cohorts] == [1e6, 2e6, 4e6]
    assert all(c.assumption for c in escalation.cohorts)
    assert (randomized.kind, randomized.blinded, randomized.order) == ("randomized", True, 2)
    assert trial_b.dosing.cells_per_kg is None  # set once phase IIa selects the dose
    assert trial_b.dosing.visit_codes == ("M0", "M6")
    assert [(v.code, v.day) for v in trial_b.visits] == [
        ("SCR", -28),
        ("M0", 0),
        ("M1", 30),
        ("M3", 90),
        ("M6", 180),
        ("M9", 270),
        ("M12", 365),
    ]
    assert trial_b.primary_visit.code == "M12"
    assert trial_b.response.rule_set == "nct03917797_cr"
    assert trial_b.response.secondary_rule_sets == ("eular2019",)
    assert trial_b.response.params["pr_provisional"] is True
    assert trial_b.parameters["egfr_min_at_screening"].value == 40
    assert trial_b.parameters["upcr_min_at_screening"].value == 1
    assert trial_b.parameters["exclusion_lookback_anchor"].value == "randomization"
    assert (len(trial_b.eligibility.inclusion), len(trial_b.eligibility.exclusion)) == (5, 5)
    assert trial_b.eligibility.max_age_years == 75
    assert trial_b.sites[0].time_zone == "America/Santiago"


@pytest.mark.parametrize("path", [TRIAL_A, TRIAL_B], ids=["A", "B"])
def test_shipped_files_mark_assumptions_and_use_known_forms(path: Path) -> None:
    definition = parse_protocol_file(path)
    assert len(definition.assumptions) >= 8
    assert set(definition.forms) == set(FORM_CODES)
    # Every visit here is at least partly assumed, and says so.
    assert all(visit.assumption for visit in definition.visits)
    assert definition.blinding.allocation_revealing["infusion"] == (
        "arm",
        "kit_number",
        "cell_count_1e6",
        "viability_pct",
        "product_lot",
        "bag_id",
        "donor_code",
        "sterility_result",
        "endotoxin_eu_per_ml",
        "mycoplasma_result",
        "release_checks_passed",
        "thawed_at",
    )
    assert parse_protocol_file(path).checksum == definition.checksum


@pytest.mark.parametrize("which", ["a", "b"])
def test_every_visit_and_criterion_has_spanish_and_a_typo_is_refused(
    which: str, trial_a: ProtocolDefinition, trial_b: ProtocolDefinition
) -> None:
    definition = trial_a if which == "a" else trial_b
    spanish = definition.translations["es"]
    criteria = (*definition.eligibility.inclusion, *definition.eligibility.exclusion)
    assert set(spanish["visits"]) == {visit.code for visit in definition.visits}
    assert set(spanish["criteria"]) == {criterion.code for criterion in criteria}
    assert set(spanish["arms"]) == {arm.code for arm in definition.arms}
    first = definition.visits[0]
    assert definition.text("es", "visits", first.code, first.name) == spanish["visits"][first.code]
    assert definition.text("en", "visits", first.code, first.name) == first.name
    text = Path(definition.source).read_text(encoding="utf-8")
    typo = text.replace(f"\n      {first.code}: ", "\n      NOPE: ", 1)
    with pytest.raises(ProtocolError, match=r"translations\.es\.visits\.NOPE.*not one of"):
        parse_protocol_text(typo, source="typo")

"""Every threshold a protocol file sets reaches the calculator it names, and changes results."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from accounts.services import system_actor
from assessments.rules.renal import PROTOCOL_PARAMETERS, rule_set_parameters
from assessments.scoring import RenalInputs, evaluate, get_rule_set
from assessments.scoring.renal_response import RULE_SETS as SCORING_RULE_SETS
from assessments.scoring.renal_trials import EGFR_UNITS_REGISTERED, PR_RULES
from tests.assessments.test_infusion_form import ADMINISTRATION, PRODUCT
from tests.assessments.test_infusion_form import save as save_infusion
from tests.personas import NOW as SETUP_NOW
from tests.personas import PROTOCOLS, make_team
from tests.world import on_study
from trials.protocol import (
    RESPONDER_CATEGORIES,
    RESPONSE_PARAMETER_VALUES,
    RESPONSE_PARAMETERS,
    RULE_SETS,
    ProtocolDefinition,
    ProtocolError,
    parse_protocol_text,
)
from trials.services import protocol_load

TRIAL_A = PROTOCOLS / "nct03673748.yaml"
TRIAL_B = PROTOCOLS / "nct03917797.yaml"


def copy_of(path, *changes: tuple[str, str]) -> ProtocolDefinition:
    """The shipped definition with each (old, new) fragment, present exactly once, replaced."""
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return parse_protocol_text(text, source=f"copy of {path.name}")


def classify(definition: ProtocolDefinition, inputs: RenalInputs) -> str:
    code = definition.response.rule_set
    params = rule_set_parameters(code, definition.response.params)
    return evaluate(code, inputs, **params).category


def test_every_parameter_the_loader_accepts_reaches_its_calculator() -> None:
    assert set(RULE_SETS) == set(SCORING_RULE_SETS)
    for code, names in RESPONSE_PARAMETERS.items():
        accepted = get_rule_set(code).parameters
        renamed = PROTOCOL_PARAMETERS.get(code, {})
        for name in names - {"responder_categories"}:
            assert renamed.get(name, name) in accepted, (code, name)
        assert RESPONDER_CATEGORIES[code] == get_rule_set(code).responders
    # The texts the loader accepts are those the calculator takes.
    assert RESPONSE_PARAMETER_VALUES["pr_rule"] == PR_RULES
    assert RESPONSE_PARAMETER_VALUES["cr_egfr_unit_registered"] == EGFR_UNITS_REGISTERED


@pytest.mark.parametrize("path", [TRIAL_A, TRIAL_B], ids=["A", "B"])
def test_every_parameter_of_the_shipped_files_reaches_the_calculator(path) -> None:
    definition = copy_of(path)
    code = definition.response.rule_set
    passed = rule_set_parameters(code, definition.response.params)
    assert len(passed) == len(definition.response.params) - 1  # all but responder_categories


# Trial B: P1 of the domain table with 6 RBC/hpf, a complete response as registered.
TRIAL_B_CR = RenalInputs(
    p0=Decimal("3.2"),
    p1=Decimal("0.40"),
    g0=Decimal("78.1"),
    g1=Decimal("81.7"),
    urine_rbc_hpf=Decimal(6),
    rbc_casts=True,
    cellular_casts=True,
    prednisone_mg_day=Decimal("7.5"),
    week=52,
)


def test_trial_b_urine_rbc_threshold_comes_from_the_file() -> None:
    inputs = replace(TRIAL_B_CR, rbc_casts=False, cellular_casts=False)
    assert classify(copy_of(TRIAL_B), inputs) == "CR"
    stricter = copy_of(TRIAL_B, ("cr_urine_rbc_max_per_hpf: 10", "cr_urine_rbc_max_per_hpf: 5"))
    assert classify(stricter, inputs) == "PR"


def test_trial_b_rbc_casts_rule_comes_from_the_file() -> None:
    assert classify(copy_of(TRIAL_B), TRIAL_B_CR) == "PR"
    allowed = copy_of(TRIAL_B, ("cr_rbc_casts_allowed: false", "cr_rbc_casts_allowed: true"))
    assert classify(allowed, TRIAL_B_CR) == "CR"


def test_trial_b_provisional_flag_comes_from_the_file() -> None:
    code = "nct03917797_cr"
    definition = copy_of(TRIAL_B, ("pr_provisional: true", "pr_provisional: false"))
    result = evaluate(code, TRIAL_B_CR, **rule_set_parameters(code, definition.response.params))
    assert (result.category, result.provisional) == ("PR", False)


def test_trial_a_partial_response_thresholds_come_from_the_file() -> None:
    # P2 of the domain table: 4.0 -> 1.6 g/g (-60 %) with kidney function kept: PRR.
    p2 = RenalInputs(p0=Decimal("4.0"), p1=Decimal("1.6"), g0=Decimal("65.1"), g1=Decimal("60.2"))
    assert classify(copy_of(TRIAL_A), p2) == "PRR"
    deeper = copy_of(TRIAL_A, ("prr_upcr_reduction_min: 0.5", "prr_upcr_reduction_min: 0.7"))
    assert classify(deeper, p2) == "NR"
    lower = copy_of(TRIAL_A, ("prr_upcr_max_g_per_g: 3.0", "prr_upcr_max_g_per_g: 1.5"))
    assert classify(lower, p2) == "NR"


def trial_a_participant(code: str, *changes: tuple[str, str]):
    """A participant on study in a copy of trial A loaded as trial `code`, with the changes."""
    definition = copy_of(TRIAL_A, ("code: MSVLE\n", f"code: {code}\n"), *changes)
    source = f"{code.lower()}.yaml"
    loaded = protocol_load(
        actor=system_actor(), definition=definition, source_name=source, now=SETUP_NOW
    )
    team = make_team(loaded.version.trial)
    return team, on_study(team)


@pytest.mark.django_db
def test_the_viability_limit_of_the_product_comes_from_the_protocol() -> None:
    team, participant = trial_a_participant(
        "MSVLEV", ("  viability_min_pct: 70\n", "  viability_min_pct: 80\n")
    )
    form = save_infusion(
        team,
        participant,
        {**ADMINISTRATION, **PRODUCT, "viability_pct": Decimal(75)},
        actor=team.pharmacist,
    )
    assert any("Viability 75 % is below 80 %" in item for item in form.dose_warnings)


def test_the_shipped_files_set_the_viability_limit() -> None:
    assert copy_of(TRIAL_A).dosing.viability_min_pct == 70
    assert copy_of(TRIAL_B).dosing.viability_min_pct == 70


@pytest.mark.django_db
def test_the_volume_tolerance_comes_from_the_protocol() -> None:
    assert copy_of(TRIAL_A).dosing.volume_tolerance_pct == 10
    assert copy_of(TRIAL_B).dosing.volume_tolerance_pct == 10
    team, participant = trial_a_participant(
        "MSVLEW", ("  volume_tolerance_pct: 10\n", "  volume_tolerance_pct: 5\n")
    )
    # 100 mL planned: 95 mL lies within 5 %, 94.9 mL does not (it would within 10 %).
    form = save_infusion(team, participant, {**ADMINISTRATION, "volume_ml": Decimal(95)})
    assert form.warnings == []
    form = save_infusion(
        team,
        participant,
        {"volume_ml": Decimal("94.9")},
        expected_version=form.row_version,
        reason="Pump read again",
    )
    assert [{k: w[k] for k in ("field", "message")} for w in form.warnings] == [
        {
            "field": "volume_ml",
            "message": "The protocol infuses 100 mL; 94.9 mL differs by more than 5 %.",
        }
    ]


def test_the_loader_refuses_an_unknown_dosing_key() -> None:
    with pytest.raises(ProtocolError, match="volume_tolerance"):
        copy_of(TRIAL_A, ("  volume_tolerance_pct: 10\n", "  volume_tolerance: 10\n"))
    with pytest.raises(ProtocolError, match="only a dose_escalation stage defines a DLT"):
        copy_of(
            TRIAL_B,
            (
                "    kind: randomized\n",
                "    kind: randomized\n"
                "    dlt: {min_grade: 3, related_only: true, window_days: 28}\n",
            ),
        )
    with pytest.raises(ProtocolError, match="not a regular expression"):
        copy_of(
            TRIAL_A,
            (
                'donor_code_pattern: "(?=.*[0-9])[A-Z0-9][A-Z0-9-]{3,29}"',
                'donor_code_pattern: "[A-Z"',
            ),
        )

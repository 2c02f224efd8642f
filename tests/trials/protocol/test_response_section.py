"""The response section: thresholds no calculator reads are refused, and the rescue list."""

from __future__ import annotations

import json

import pytest

from accounts.services import system_actor
from tests.personas import NOW
from trials.definitions import definition_of
from trials.protocol import (
    RESPONSE_PARAMETER_VALUES,
    RESPONSE_PARAMETERS,
    parse_protocol_file,
    parse_protocol_text,
)
from trials.services import protocol_load

from .support import MINIMAL, TRIAL_A, TRIAL_B, assert_only_issue, break_key, replace_once

PARAMS = "    responder_categories: [CRR, PRR]\n"


def test_a_threshold_no_calculator_reads_is_refused_with_key_and_line() -> None:
    text, line = break_key(PARAMS, PARAMS + "    crr_upcr_max: 0.7  # HERE\n")
    issue = assert_only_issue(
        text, "response.params.crr_upcr_max", line, "'crr_upcr_max' is not read by rule set"
    )
    assert "crr_upcr_max_g_per_g" in issue.message  # the accepted names are listed


def test_a_threshold_of_another_rule_set_is_refused() -> None:
    # cr_egfr_min is trial B's; under EULAR 2019 it would be silently ignored.
    text, line = break_key(PARAMS, PARAMS + "    cr_egfr_min: 120  # HERE\n")
    assert_only_issue(text, "response.params.cr_egfr_min", line, "not read by rule set")


def test_responder_categories_must_be_those_of_the_rule_set() -> None:
    text, line = break_key(PARAMS, "    responder_categories: [CR, PR]  # HERE\n")
    assert_only_issue(
        text, "response.params.responder_categories", line, "counts CRR, PRR as responders"
    )


def test_accepted_thresholds_load() -> None:
    text = replace_once(
        MINIMAL, PARAMS, PARAMS + "    crr_upcr_max_g_per_g: 0.7\n    gfr_ok_egfr_min: 60\n"
    )
    assert parse_protocol_text(text).response.params["gfr_ok_egfr_min"] == 60


def test_the_rescue_list_is_read() -> None:
    text = replace_once(
        MINIMAL,
        "  secondary_rule_sets: [kdigo2021]\n",
        "  secondary_rule_sets: [kdigo2021]\n"
        "  rescue:\n    drugs: [rituximab, plasma exchange]\n    from: day0\n"
        "    assumption: Not stated.\n",
    )
    rescue = parse_protocol_text(text).response.rescue
    assert rescue is not None
    assert (rescue.drugs, rescue.start_after) == (("rituximab", "plasma exchange"), "day0")
    assert rescue.drug_in("Rituximab (MabThera) 1 g") == "rituximab"
    assert rescue.drug_in("Cyclophosphamide") is None


def test_a_rescue_window_other_than_day0_is_refused() -> None:
    text, line = break_key(
        "  secondary_rule_sets: [kdigo2021]\n",
        "  secondary_rule_sets: [kdigo2021]\n  rescue:\n    drugs: [rituximab]\n"
        "    from: screening  # HERE\n",
    )
    assert_only_issue(text, "response.rescue.from", line, "'screening' is not one of")


def test_shipped_rescue_lists() -> None:
    trial_a, trial_b = parse_protocol_file(TRIAL_A), parse_protocol_file(TRIAL_B)
    assert trial_a.response.rescue is not None and trial_b.response.rescue is not None
    assert "rituximab" in trial_a.response.rescue.drugs
    assert "cyclophosphamide" in trial_a.response.rescue.drugs
    # Trial B's standard of care is cyclophosphamide and methylprednisolone: not rescue.
    assert "cyclophosphamide" not in trial_b.response.rescue.drugs
    assert trial_b.response.rescue.assumption
    assert (trial_a.version, trial_b.version) == ("1.6", "1.6")


def test_a_stored_version_without_rescue_list_or_viability_still_parses() -> None:
    """Versions 1.0 of the shipped files, stored in a loaded database, are parsed again on
    every read: a section added since must stay optional."""
    for path in (TRIAL_A, TRIAL_B):
        data = parse_protocol_file(path).raw
        data["version"] = "1.0"
        del data["response"]["rescue"]
        del data["dosing"]["viability_min_pct"]
        del data["dosing"]["pregnancy_test_within_hours"]
        definition = parse_protocol_text(json.dumps(data), source="stored")
        assert (definition.response.rescue, definition.dosing.viability_min_pct) == (None, None)
        assert definition.dosing.pregnancy_test_within_hours is None


def test_a_database_holding_version_1_0_loads_the_amended_files(db: None) -> None:
    for path in (TRIAL_A, TRIAL_B):
        data = parse_protocol_file(path).raw
        data["version"] = "1.0"
        del data["response"]["rescue"]
        del data["dosing"]["viability_min_pct"]
        del data["dosing"]["pregnancy_test_within_hours"]
        old = parse_protocol_text(json.dumps(data), source=path.name)
        first = protocol_load(actor=system_actor(), definition=old, source_name=path.name, now=NOW)
        second = protocol_load(
            actor=system_actor(),
            definition=parse_protocol_file(path),
            source_name=path.name,
            now=NOW,
        )
        assert (second.created, second.version.number, second.version.label) == (True, 2, "1.6")
        assert definition_of(first.version).response.rescue is None
        assert definition_of(second.version).response.rescue is not None


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ("rescue_is_non_response: yes", "must be true or false, got 'yes'"),
        ('crr_upcr_max_g_per_g: "0.5"', "must be a number, got '0.5'"),
        ("gfr_ok_egfr_min: true", "must be a number, got True"),
    ],
)
def test_a_parameter_value_the_calculator_cannot_take_is_refused(written, fragment) -> None:
    text, line = break_key(PARAMS, PARAMS + f"    {written}  # HERE\n")
    name = written.split(":")[0]
    assert_only_issue(text, f"response.params.{name}", line, fragment)


def test_every_accepted_parameter_has_a_value_rule() -> None:
    names = {name for names in RESPONSE_PARAMETERS.values() for name in names}
    assert names - {"responder_categories"} == set(RESPONSE_PARAMETER_VALUES)

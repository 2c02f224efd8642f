"""Every threshold or setting in `parameters:` is read by something, with a value it accepts;
each criterion look-back is well formed. Anything else is refused with its key and line."""

from __future__ import annotations

import pytest

from tests.trials.protocol.support import (
    MINIMAL,
    TRIAL_A,
    TRIAL_B,
    assert_only_issue,
    break_key,
    issues_of,
    line_of,
    replace_once,
)
from trials.protocol import parse_protocol_file, parse_protocol_text

EX01 = "      code: EX01\n      text: Pregnancy.\n"
WITH_ANCHOR = (
    "  sledai_window_days:\n",
    "  exclusion_lookback_anchor:\n    value: selection\n  sledai_window_days:\n",
)


def with_lookback(lookback: str, *, anchor: bool = True) -> str:
    """MINIMAL with a look-back on exclusion 1 (and the anchor, unless told otherwise)."""
    text = replace_once(MINIMAL, EX01, EX01 + "      lookbacks:\n" + lookback)
    return replace_once(text, *WITH_ANCHOR) if anchor else text


def test_a_parameter_nothing_reads_is_refused_with_its_key_and_line() -> None:
    text, line = break_key(
        "  sledai_window_days:\n",
        "  cr_egfr_minimum:  # HERE\n    value: 90\n  sledai_window_days:\n",
    )
    assert_only_issue(
        text,
        "parameters.cr_egfr_minimum",
        line,
        "no eligibility check or calculation reads parameter 'cr_egfr_minimum'",
    )


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("sledai_window_days", "14", "look-back window, in days is one of 10, 30, not 14"),
        ("egfr_equation", "mdrd", "is one of ckd_epi_2021, ckd_epi_2009, not 'mdrd'"),
        ("exclusion_lookback_anchor", "consent", "is one of selection, randomization"),
        ("biopsy_max_months_before_screening", "2.5", "is a whole number, at least 1"),
        ("pregnancy_outcome_grace_days", "0", "is a whole number, at least 1"),
        ("sdv_forms", '"renal, xray"', "names forms the trial does not collect: xray"),
    ],
)
def test_a_value_the_reading_code_cannot_take_is_refused(name, value, fragment) -> None:
    if name == "sledai_window_days":
        text, line = break_key("    value: 10\n", f"    value: {value}  # HERE\n")
    else:
        text, line = break_key(
            "  sledai_window_days:\n",
            f"  {name}:\n    value: {value}  # HERE\n  sledai_window_days:\n",
        )
    assert_only_issue(text, f"parameters.{name}.value", line, fragment)


def test_an_sdv_plan_of_all_forms_is_accepted() -> None:
    text, _ = break_key(
        "  sledai_window_days:\n", "  sdv_forms:  # HERE\n    value: all\n  sledai_window_days:\n"
    )
    assert parse_protocol_text(text).parameters["sdv_forms"].value == "all"


def test_a_look_back_needs_the_anchor_day() -> None:
    text = with_lookback("        - {drugs: [cyclophosphamide], months: 6}  # HERE\n", anchor=False)
    assert_only_issue(
        text,
        "eligibility.exclusion[0].lookbacks[0]",
        line_of(text, "# HERE"),
        "needs parameters.exclusion_lookback_anchor",
    )


@pytest.mark.parametrize(
    ("lookback", "path", "fragment"),
    [
        (
            "        - {drugs: [cyclophosphamide]}  # HERE\n",
            "eligibility.exclusion[0].lookbacks[0]",
            "give either months or parameter, not both or neither",
        ),
        (
            "        - {drugs: [cyclophosphamide], months: 6,  # HERE\n"
            "           parameter: sledai_window_days}\n",
            "eligibility.exclusion[0].lookbacks[0]",
            "give either months or parameter",
        ),
        (
            "        - {months: 6, started: true}  # HERE\n",
            "eligibility.exclusion[0].lookbacks[0]",
            "name the drugs or the categories that count",
        ),
        (
            "        - {drugs: [cyclophosphamide], parameter: lookback_months}  # HERE\n",
            "eligibility.exclusion[0].lookbacks[0].parameter",
            "unknown parameter 'lookback_months'",
        ),
    ],
)
def test_a_malformed_look_back_is_refused(lookback, path, fragment) -> None:
    text = with_lookback(lookback)
    assert_only_issue(text, path, line_of(text, "# HERE"), fragment)


def test_a_look_back_parameter_must_be_whole_months() -> None:
    text = with_lookback("        - {drugs: [cyclophosphamide], parameter: lookback_cyc}\n")
    text = replace_once(
        text,
        "  sledai_window_days:\n",
        "  lookback_cyc:\n    value: 1.5  # HERE\n  sledai_window_days:\n",
    )
    assert_only_issue(
        text, "parameters.lookback_cyc.value", line_of(text, "# HERE"), "whole number of months"
    )


def test_an_unknown_category_or_route_is_refused_by_the_schema() -> None:
    text = with_lookback("        - {categories: [antibiotic], months: 6}  # HERE\n")
    [issue] = issues_of(text)
    assert issue.path.startswith("eligibility.exclusion[0].lookbacks[0].categories")
    assert "antibiotic" in issue.message


@pytest.mark.parametrize(
    ("path", "criterion", "parameter"),
    [
        (TRIAL_B, "EX03", "lookback_months_cyclophosphamide"),
        (TRIAL_B, "EX04", "lookback_months_anti_b_cell"),
        (TRIAL_B, "IN04", "active_sediment_rbc_above_per_hpf"),
    ],
)
def test_the_shipped_thresholds_are_read_through_their_criteria(path, criterion, parameter):
    """Take away the criterion's checks and its threshold is reported unread."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"      code: {criterion}\n")
    end = text.index("    - number:", start)
    block = text[start:end]
    cut = block.index("      lookbacks:\n" if "lookbacks" in block else "      sources:\n")
    text = text[: start + cut] + text[end:]
    messages = {(i.path, i.message) for i in issues_of(text)}
    assert (
        f"parameters.{parameter}",
        f"no eligibility check or calculation reads parameter {parameter!r}; name it in a "
        "criterion's sources or lookbacks, or remove it",
    ) in messages


def test_the_shipped_look_backs() -> None:
    a, b = parse_protocol_file(TRIAL_A), parse_protocol_file(TRIAL_B)
    assert a.parameters["exclusion_lookback_anchor"].value == "selection"
    assert b.parameters["exclusion_lookback_anchor"].value == "randomization"
    lookbacks = {c.code: c.lookbacks for c in a.eligibility.exclusion if c.lookbacks}
    assert sorted(lookbacks) == ["EX02", "EX03", "EX04", "EX05", "EX06"]
    assert [(lb.months, lb.started) for lb in lookbacks["EX06"]] == [(2, True)]
    assert lookbacks["EX06"][0].categories == ("ace_arb",)
    b_lookbacks = {c.code: c.lookbacks for c in b.eligibility.exclusion if c.lookbacks}
    assert {code: [lb.months for lb in lbs] for code, lbs in b_lookbacks.items()} == {
        "EX02": [3, 3],
        "EX03": [6],
        "EX04": [12],
    }
    assert all(lb.started for lbs in b_lookbacks.values() for lb in lbs)
    assert b_lookbacks["EX02"][0].routes == ("intravenous",)

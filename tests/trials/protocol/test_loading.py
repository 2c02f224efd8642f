"""Strict YAML loading, schema errors with lines, checksums and the immutable model."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from trials.protocol import (
    PROTOCOL_SCHEMA,
    FrozenMap,
    ProtocolError,
    parse_protocol_file,
    parse_protocol_text,
)

from .support import MINIMAL, assert_only_issue, break_key, issues_of, line_of, replace_once

# --- YAML level -----------------------------------------------------------------------------


def test_duplicate_top_level_key_is_rejected_with_both_lines() -> None:
    text = MINIMAL + "code: OTHER\n"
    issue = assert_only_issue(text, "code", line_of(text, "code: OTHER"), "duplicate key 'code'")
    assert issue.message == "duplicate key 'code' (first given on line 2)"


def test_duplicate_nested_key_is_rejected() -> None:
    text, line = break_key("    window_after: 3\n", "    window_after: 3\n    day: 30  # HERE\n")
    assert_only_issue(text, "visits[2].day", line, "duplicate key 'day'")


def test_duplicate_key_inside_free_mapping_is_rejected() -> None:
    text, line = break_key("    value: 10\n", "    value: 10\n    value: 6  # HERE\n")
    assert_only_issue(text, "parameters.sledai_window_days.value", line, "duplicate key")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("code: [DEMO\nversion: '1'\n", 2, "expected ',' or ']', but got ':'"),
        ("code: DEMO\n  version: 1\n", 2, "mapping values are not allowed here"),
        ("code: DEMO\n\tversion: 1\n", 2, "found character '\\t'"),
        ("code: 'DEMO\n", 2, "while scanning a quoted scalar"),
        ("code: DEMO\n---\ncode: DEMO\n", 2, "expected a single document"),
        ("code: DEMO\nnote: \x07\n", 2, "special characters are not allowed"),
    ],
)
def test_invalid_yaml_reports_a_line(text: str, line: int, fragment: str) -> None:
    issues = issues_of(text)
    assert [(i.path, i.line) for i in issues] == [("", line)]
    assert issues[0].message.startswith("invalid YAML")
    assert fragment in issues[0].message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    assert_only_issue(text, "", 1, "the file is empty")


@pytest.mark.parametrize(("text", "line"), [("- a\n- b\n", 1), ("# x\njust text\n", 2)])
def test_root_must_be_a_mapping(text: str, line: int) -> None:
    assert_only_issue(text, "", line, "the top level must be a mapping")


def test_merge_keys_are_rejected() -> None:
    text = MINIMAL.replace("dosing:\n  rule:", "base: &b {}\ndosing:\n  <<: *b\n  rule:")
    issues = issues_of(text)
    assert ("dosing", line_of(text, "  <<: *b"), "merge keys ('<<') are not supported") in [
        (i.path, i.line, i.message) for i in issues
    ]


def test_non_string_keys_are_rejected() -> None:
    text, line = break_key("    value: 10\n", "    value: 10\n    1: one  # HERE\n")
    assert_only_issue(text, "parameters.sledai_window_days", line, "keys must be plain strings")


def test_recursive_alias_is_rejected() -> None:
    text = MINIMAL + "loop: &a [*a]\n"
    issues = issues_of(text)
    assert ("loop[0]", line_of(text, "loop:"), "recursive alias is not allowed") in [
        (i.path, i.line, i.message) for i in issues
    ]


def test_yaml_11_surprises_are_avoided() -> None:
    # Norway's country code and a bare date stay strings; 2.0e6 is a float.
    text = replace_once(MINIMAL, "    country: CL\n", "    country: NO\n")
    text = replace_once(text, "    time_zone: America/Santiago\n", "    time_zone: Europe/Oslo\n")
    text = replace_once(text, 'version: "1.0"\n', "version: 2024-06-01\n")
    definition = parse_protocol_text(text)
    assert definition.sites[1].country == "NO"
    assert definition.version == "2024-06-01"
    assert definition.dosing.cells_per_kg == 2_000_000.0


def test_yes_is_not_a_boolean() -> None:
    text, line = break_key("    dosing: true\n", "    dosing: yes  # HERE\n")
    assert_only_issue(text, "visits[1].dosing", line, "'yes' is not of type 'boolean'")


# --- schema level -----------------------------------------------------------------------------


def test_unknown_key_is_reported_at_the_key() -> None:
    text, line = break_key("    window_after: 3\n", "    windw_after: 3  # HERE\n")
    issues = issues_of(text)
    assert [(i.path, i.line) for i in issues] == [
        ("visits[2]", line_of(text, "  - code: W4")),
        ("visits[2].windw_after", line),
    ]
    assert issues[0].message == "'window_after' is required but missing"
    assert issues[1].message.startswith("unknown key 'windw_after' (allowed: ")


def test_number_where_a_string_is_expected_suggests_quoting() -> None:
    text, line = break_key('version: "1.0"\n', "version: 1.0  # HERE\n")
    assert_only_issue(
        text, "version", line, "1.0 is not of type 'string' (quote the value in YAML)"
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment"),
    [
        ("code: DEMO\n", "code: demo  # HERE\n", "code", "does not match"),
        ("code: DEMO\n", "code: ABCDEFGHIJKLM  # HERE\n", "code", "does not match"),
        ("masking: double\n", "masking: blind  # HERE\n", "masking", "is not one of"),
        ("  - code: S01\n", "  - code: S-1  # HERE\n", "sites[0].code", "does not match"),
        ("    country: ES\n", "    country: Spain  # HERE\n", "sites[0].country", "does not match"),
        (
            "    ratio: 1\n    description: Cells",
            "    ratio: 0  # HERE\n    description: Cells",
            "arms[0].ratio",
            "less than the minimum of 1",
        ),
        (
            "format: ecrf-protocol/1\n",
            "format: ecrf-protocol/2  # HERE\n",
            "format",
            "'ecrf-protocol/1' was expected",
        ),
        ("  nct: NCT00000001\n", "  nct: NCT1  # HERE\n", "identifiers.nct", "does not match"),
    ],
)
def test_schema_errors_name_key_and_line(old: str, new: str, path: str, fragment: str) -> None:
    text, line = break_key(old, new)
    assert_only_issue(text, path, line, fragment)


def test_schema_errors_are_all_reported_in_line_order() -> None:
    text = replace_once(MINIMAL, "planned_enrollment: 20\n", "planned_enrollment: -5\n")
    text = replace_once(text, "    window_before: 3\n", "    window_before: -1\n")
    text = replace_once(text, "code: DEMO\n", "code: x\n")
    issues = issues_of(text)
    assert [i.path for i in issues] == ["code", "planned_enrollment", "visits[2].window_before"]
    assert [i.line for i in issues] == [2, 11, line_of(text, "    window_before: -1")]


def test_error_text_lists_every_problem_with_source_line_and_path() -> None:
    text = replace_once(MINIMAL, "    window_after: 3\n", "    window_after: -3\n")
    text = replace_once(text, "code: DEMO\n", "code: x\n")
    with pytest.raises(ProtocolError) as caught:
        parse_protocol_text(text, source="trial.yaml")
    lines = str(caught.value).splitlines()
    assert lines[0] == "trial.yaml: protocol definition rejected (2 problems)"
    assert lines[1].startswith("trial.yaml:2: at 'code': ")
    assert lines[2].startswith(
        f"trial.yaml:{line_of(text, '    window_after: -3')}: at 'visits[2].window_after': "
    )


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(MINIMAL + "code: AGAIN\n", encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        parse_protocol_file(path)
    assert str(caught.value).splitlines()[1].startswith(f"{path}:{MINIMAL.count(chr(10)) + 1}: ")


def test_non_utf8_file_is_rejected_with_a_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL.replace("Valladolid", "R\u00edo Hortega").encode("latin-1"))
    with pytest.raises(ProtocolError) as caught:
        parse_protocol_file(path)
    [issue] = caught.value.errors
    assert (issue.line, issue.message) == (line_of(MINIMAL, "Valladolid"), "the file is not UTF-8")


def test_schema_is_valid_and_documents_every_field() -> None:
    Draft202012Validator.check_schema(PROTOCOL_SCHEMA)
    undocumented: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    undocumented.append(f"{where}.{name}")
                walk(sub, f"{where}.{name}")
            for key in ("items", "additionalProperties"):
                if isinstance(node.get(key), dict):
                    walk(node[key], f"{where}[]")

    walk(PROTOCOL_SCHEMA, "$")
    assert undocumented == []


# --- checksum and model -----------------------------------------------------------------------


def test_checksum_is_stable_and_ignores_layout() -> None:
    first = parse_protocol_text(MINIMAL)
    assert parse_protocol_text(MINIMAL).checksum == first.checksum
    relaid = "# a comment\n" + MINIMAL.replace("short_title: DEMO\n", "") + "short_title:   DEMO\n"
    assert parse_protocol_text(relaid).checksum == first.checksum
    assert len(first.checksum) == 64


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('version: "1.0"\n', 'version: "1.1"\n'),
        ("      text: Pregnancy.\n", "      text: Pregnancy or lactation.\n"),
        ("    window_after: 3\n", "    window_after: 4\n"),
        ("  cells_per_kg: 2.0e6\n", "  cells_per_kg: 2.5e6\n"),
    ],
)
def test_any_content_change_changes_the_checksum(old: str, new: str) -> None:
    before = parse_protocol_text(MINIMAL).checksum
    assert parse_protocol_text(replace_once(MINIMAL, old, new)).checksum != before


def test_file_and_text_give_the_same_checksum(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    from_file = parse_protocol_file(path)
    assert from_file.checksum == parse_protocol_text(MINIMAL).checksum
    assert from_file.source == str(path)


def test_model_is_immutable_and_uses_tuples() -> None:
    definition = parse_protocol_text(MINIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.code = "OTHER"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.visits[0].day = 3  # type: ignore[misc]
    assert isinstance(definition.visits, tuple)
    assert isinstance(definition.visits[0].forms, tuple)
    assert definition.response.params["responder_categories"] == ("CRR", "PRR")
    with pytest.raises(TypeError):
        definition.response.params["x"] = 1  # type: ignore[index]
    assert isinstance(definition.blinding.allocation_revealing, FrozenMap)
    assert definition.blinding.is_revealing("infusion", "cell_count_1e6")
    assert not definition.blinding.is_revealing("vitals", "arm")


def test_model_pickles_and_raw_is_a_private_copy() -> None:
    definition = parse_protocol_text(MINIMAL)
    # Round-trips our own freshly pickled bytes only.
    assert pickle.loads(pickle.dumps(definition)) == definition  # noqa: S301
    definition.raw["code"] = "CHANGED"
    assert parse_protocol_text(MINIMAL).raw["code"] == "DEMO"
    assert definition.code == "DEMO"


def test_orders_and_derived_fields() -> None:
    definition = parse_protocol_text(MINIMAL)
    assert [(v.code, v.order) for v in definition.visits] == [
        ("SCR", 1),
        ("D0", 2),
        ("W4", 3),
        ("W12", 4),
    ]
    w4 = definition.visit("W4")
    assert (w4.earliest_day, w4.latest_day) == (25, 31)
    assert definition.visit("W12").assumption == "Week 12 assumed."
    assert definition.visit("W4").assumption is None
    assert definition.dosing.visit_codes == ("D0",)
    assert definition.primary_visit.code == "W12"
    assert definition.parameters["sledai_window_days"].value == 10
    with pytest.raises(KeyError):
        definition.visit("W99")

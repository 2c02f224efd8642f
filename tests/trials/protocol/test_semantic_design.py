"""Cross-field checks on arms, stages, randomization and masking, each with key path and line."""

from __future__ import annotations

from trials.protocol import parse_protocol_text

from .support import (
    MINIMAL,
    assert_only_issue,
    break_key,
    escalation_text,
    issues_of,
    line_of,
    replace_once,
)


def test_duplicate_arm_code() -> None:
    text, line = break_key("  - code: PBO\n", "  - code: MSC  # HERE\n")
    issues = issues_of(text)
    dup = [i for i in issues if i.path == "arms[1].code"]
    assert [(i.line, i.message) for i in dup] == [
        (line, "duplicate arm code 'MSC' (already used at 'arms[0].code')")
    ]
    # The stage now names an arm that no longer exists; that is reported too.
    assert any(i.path == "stages[0].arms[1]" and "unknown arm 'PBO'" in i.message for i in issues)


def test_duplicate_site_code() -> None:
    text, line = break_key("  - code: S02\n", "  - code: S01  # HERE\n")
    issues = issues_of(text)
    assert ("sites[1].code", line) in [(i.path, i.line) for i in issues]
    assert any("duplicate site code 'S01'" in i.message for i in issues)


def test_duplicate_stage_code() -> None:
    text, line = break_key("  - code: RCT\n", "  - code: ESC  # HERE\n", base=escalation_text())
    assert_only_issue(text, "stages[1].code", line, "duplicate stage code 'ESC'")


def test_duplicate_cohort_code() -> None:
    text, line = break_key(
        "      - code: C2\n", "      - code: C1  # HERE\n", base=escalation_text()
    )
    assert_only_issue(text, "stages[0].cohorts[1].code", line, "duplicate cohort code 'C1'")


def test_randomized_stage_needs_two_arms() -> None:
    text, line = break_key("    arms: [MSC, PBO]\n", "    arms: [MSC]  # HERE\n")
    issues = issues_of(text)
    assert ("stages[0].arms", line, "a randomized stage needs at least two arms") in [
        (i.path, i.line, i.message) for i in issues
    ]
    assert any(i.path == "arms[1].code" and "not used by any stage" in i.message for i in issues)


def test_arm_unused_by_every_stage() -> None:
    extra = (
        "  - code: SOC\n    name: Standard\n    type: active_comparator\n    ratio: 1\n"
        "    description: Standard of care\n    product: None\n"
    )
    text = replace_once(MINIMAL, "stages:\n", extra + "stages:\n")
    assert_only_issue(text, "arms[2].code", line_of(text, "  - code: SOC"), "not used by any stage")


def test_unknown_arm_in_a_stage() -> None:
    text, line = break_key("    arms: [MSC, PBO]\n", "    arms: [MSC, XYZ]  # HERE\n")
    issues = issues_of(text)
    assert ("stages[0].arms[1]", line, "unknown arm 'XYZ'") in [
        (i.path, i.line, i.message) for i in issues
    ]


def test_dose_escalation_needs_a_cohort() -> None:
    base = escalation_text()
    start = base.index("    cohorts:\n")
    end = base.index("  - code: RCT\n")
    text = base[:start] + "    cohorts: []  # HERE\n" + base[end:]
    assert_only_issue(
        text, "stages[0].cohorts", line_of(text, "# HERE"), "needs at least one cohort"
    )


def test_dose_escalation_is_open_label() -> None:
    text, line = break_key(
        "    blinded: false\n", "    blinded: true  # HERE\n", base=escalation_text()
    )
    assert_only_issue(text, "stages[0].blinded", line, "dose_escalation stage is open-label")


def test_dose_escalation_uses_experimental_arms_only() -> None:
    text, line = break_key(
        "    arms: [MSC]\n", "    arms: [MSC, PBO]  # HERE\n", base=escalation_text()
    )
    assert_only_issue(text, "stages[0].arms[1]", line, "experimental arms only")


def test_randomized_stage_has_no_cohorts() -> None:
    cohort = (
        "    planned_n: 20\n    cohorts:  # HERE\n      - code: C1\n        name: Low\n"
        "        dose_cells_per_kg: 1.0e6\n        planned_n: 20\n"
    )
    text, line = break_key("    planned_n: 20\n", cohort)
    assert_only_issue(text, "stages[0].cohorts", line, "a randomized stage has no cohorts")


def test_cohort_sizes_must_add_up_to_the_stage() -> None:
    base = escalation_text()
    text = replace_once(
        base,
        "        dose_cells_per_kg: 2.0e6\n        planned_n: 3\n",
        "        dose_cells_per_kg: 2.0e6\n        planned_n: 4\n",
    )
    assert_only_issue(
        text,
        "stages[0].planned_n",
        line_of(text, "    planned_n: 6\n"),
        "cohort sizes add up to 7, not 6",
    )


def test_null_dose_is_allowed_while_escalation_selects_it() -> None:
    text = replace_once(escalation_text(), "  cells_per_kg: 2.0e6\n", "  cells_per_kg: null\n")
    assert parse_protocol_text(text).dosing.cells_per_kg is None


def test_uneven_ratio_reports_every_bad_block_size() -> None:
    text = replace_once(
        MINIMAL,
        "    ratio: 1\n    description: Cells once\n",
        "    ratio: 2\n    description: Cells once\n",
    )
    line = line_of(text, "  block_sizes: [2, 4]")
    issues = issues_of(text)
    assert [(i.path, i.line) for i in issues] == [
        ("randomization.block_sizes[0]", line),
        ("randomization.block_sizes[1]", line),
    ]
    assert "arm ratio sum 3 of stage 'RCT'" in issues[0].message


def test_ratio_sum_three_accepts_blocks_of_three_and_six() -> None:
    text = replace_once(
        MINIMAL,
        "    ratio: 1\n    description: Cells once\n",
        "    ratio: 2\n    description: Cells once\n",
    )
    text = replace_once(text, "  block_sizes: [2, 4]\n", "  block_sizes: [3, 6]\n")
    assert parse_protocol_text(text).randomization.block_sizes == (3, 6)  # type: ignore[union-attr]


def test_randomized_stage_needs_a_randomization_section() -> None:
    text = replace_once(MINIMAL, "randomization:\n  block_sizes: [2, 4]\n  strata: [site]\n", "")
    assert_only_issue(text, "", 1, "needs a 'randomization' section")


def test_randomization_without_a_randomized_stage() -> None:
    base = escalation_text()
    text = base[: base.index("  - code: RCT\n")] + base[base.index("randomization:\n") :]
    issues = issues_of(text)
    assert ("randomization", line_of(text, "randomization:\n"), "no stage is randomized") in [
        (i.path, i.line, i.message) for i in issues
    ]


def test_masking_without_any_blinded_stage() -> None:
    text = replace_once(MINIMAL, "    blinded: true\n", "    blinded: false\n")
    assert_only_issue(
        text, "masking", line_of(text, "masking: double"), "masking is 'double' but no stage is"
    )


def test_blinded_stage_needs_masking() -> None:
    text = replace_once(MINIMAL, "masking: double\n", "masking: none\n")
    text = replace_once(
        text, "masked_parties: [participant, investigator]\n", "masked_parties: []\n"
    )
    assert_only_issue(
        text, "stages[0].blinded", line_of(text, "    blinded: true"), "needs masking"
    )


def test_site_factor_levels_must_be_the_site_codes() -> None:
    text, line = break_key("    levels: [S01, S02]\n", "    levels: [S01, S03]  # HERE\n")
    issues = issues_of(text)
    assert [(i.path, i.line, i.message) for i in issues] == [
        ("stratification_factors[0].levels", line, "site codes missing from levels: ['S02']"),
        ("stratification_factors[0].levels[1]", line, "'S03' is not a site code"),
    ]


def test_field_factor_must_name_its_field() -> None:
    text = replace_once(MINIMAL, "    source: site\n", "    source: field\n")
    assert_only_issue(
        text,
        "stratification_factors[0]",
        line_of(text, "  - code: site\n"),
        "must name its 'field'",
    )

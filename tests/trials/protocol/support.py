"""Small valid protocol texts and helpers to break them one key at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from trials.protocol import ProtocolError, ProtocolIssue, parse_protocol_text

REPO = Path(__file__).resolve().parents[3]
PROTOCOLS = REPO / "protocols"
TRIAL_A = PROTOCOLS / "nct03673748.yaml"
TRIAL_B = PROTOCOLS / "nct03917797.yaml"

# A compact randomized trial; every line the tests break is unique in the text.
MINIMAL = """\
format: ecrf-protocol/1
code: DEMO
version: "1.0"
title: Demo trial
short_title: DEMO
identifiers:
  nct: NCT00000001
phase: phase2
masking: double
masked_parties: [participant, investigator]
planned_enrollment: 20
sponsor: Demo sponsor
arms:
  - code: MSC
    name: Cells
    type: experimental
    ratio: 1
    description: Cells once
    product: MSC
  - code: PBO
    name: Placebo
    type: placebo_comparator
    ratio: 1
    description: Saline once
    product: Saline
stages:
  - code: RCT
    name: Randomised
    kind: randomized
    blinded: true
    arms: [MSC, PBO]
    planned_n: 20
randomization:
  block_sizes: [2, 4]
  strata: [site]
stratification_factors:
  - code: site
    name: Site
    source: site
    levels: [S01, S02]
sites:
  - code: S01
    name: First hospital
    city: Valladolid
    country: ES
    time_zone: Europe/Madrid
  - code: S02
    name: Second hospital
    city: Santiago
    country: CL
    time_zone: America/Santiago
visits:
  - code: SCR
    name: Screening
    kind: screening
    day: -14
    window_before: 0
    window_after: 13
    forms: [consent, eligibility]
  - code: D0
    name: Day 0
    kind: dosing
    day: 0
    window_before: 0
    window_after: 0
    dosing: true
    forms: [infusion, vitals]
  - code: W4
    name: Week 4
    kind: follow_up
    day: 28
    window_before: 3
    window_after: 3
    forms: [renal, labs]
  - code: W12
    name: Week 12
    kind: end_of_study
    day: 84
    window_before: 7
    window_after: 7
    primary_endpoint: true
    forms: [renal, end_of_study]
    assumption: Week 12 assumed.
eligibility:
  min_age_years: 18
  inclusion:
    - number: 1
      code: IN01
      text: Adult.
    - number: 2
      code: IN02
      text: Active nephritis.
  exclusion:
    - number: 1
      code: EX01
      text: Pregnancy.
response:
  rule_set: eular2019
  params:
    responder_categories: [CRR, PRR]
  primary_visit: W12
  timepoint_label: Week 12
  secondary_rule_sets: [kdigo2021]
dosing:
  rule: weight_based
  cells_per_kg: 2.0e6
  volume_ml: 100
  tolerance_pct: 10
  weight_hard_limits_kg: [30, 200]
  weight_soft_limits_kg: [40, 150]
blinding:
  allocation_revealing:
    infusion: [arm, cell_count_1e6]
forms: [consent, eligibility, infusion, vitals, renal, labs, end_of_study]
assumptions:
  - Week 12 endpoint.
parameters:
  sledai_window_days:
    value: 10
    note: The 30-day variant is not used.
"""

# An open-label dose escalation before the randomized stage (replaces MINIMAL's stages).
ESCALATION_STAGES = """\
stages:
  - code: ESC
    name: Escalation
    kind: dose_escalation
    blinded: false
    arms: [MSC]
    planned_n: 6
    cohorts:
      - code: C1
        name: Low
        dose_cells_per_kg: 1.0e6
        planned_n: 3
      - code: C2
        name: High
        dose_cells_per_kg: 2.0e6
        planned_n: 3
  - code: RCT
    name: Randomised
    kind: randomized
    blinded: true
    arms: [MSC, PBO]
    planned_n: 14
"""

MINIMAL_STAGES = """\
stages:
  - code: RCT
    name: Randomised
    kind: randomized
    blinded: true
    arms: [MSC, PBO]
    planned_n: 20
"""


def escalation_text() -> str:
    return replace_once(MINIMAL, MINIMAL_STAGES, ESCALATION_STAGES)


def replace_once(text: str, old: str, new: str) -> str:
    """Replace a fragment that must occur exactly once (so a test cannot break silently)."""
    assert text.count(old) == 1, f"fragment occurs {text.count(old)} times: {old!r}"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based line where a unique needle starts."""
    assert text.count(needle) == 1, f"needle occurs {text.count(needle)} times: {needle!r}"
    return text[: text.index(needle)].count("\n") + 1


def issues_of(text: str) -> list[ProtocolIssue]:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol_text(text, source="demo.yaml")
    return caught.value.errors


def assert_only_issue(text: str, path: str, line: int, fragment: str) -> ProtocolIssue:
    """The text is rejected with exactly one problem, at this key path and line."""
    issues = issues_of(text)
    assert [(issue.path, issue.line) for issue in issues] == [(path, line)], issues
    assert fragment in issues[0].message, issues[0].message
    return issues[0]


def break_key(
    old: str, new: str, *, base: str = MINIMAL, marker: str = "# HERE"
) -> tuple[str, int]:
    """Replace ``old`` with ``new`` (which carries ``marker``); return the text and its line."""
    text = replace_once(base, old, new)
    return text, line_of(text, marker)

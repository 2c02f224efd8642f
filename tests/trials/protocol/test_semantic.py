"""Cross-field checks on the schedule, response, forms and sites, each with key path and line."""

from __future__ import annotations

import pytest

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

# (old fragment, replacement carrying "# HERE" on the offending line, path, message fragment)
SINGLE_PROBLEM_CASES = {
    "duplicate visit code": (
        "  - code: W4\n",
        "  - code: D0  # HERE\n",
        "visits[2].code",
        "duplicate visit code 'D0' (already used at 'visits[1].code')",
    ),
    "visits out of day order": (
        "    day: 84\n",
        "    day: 20  # HERE\n",
        "visits[3].day",
        "visits must be in day order",
    ),
    "screening visit on or after Day 0": (
        "    day: -14\n",
        "    day: 0  # HERE\n",
        "visits[0].day",
        "screening visit must have a negative day",
    ),
    "screening window reaching Day 0": (
        "    window_after: 13\n",
        "    window_after: 14  # HERE\n",
        "visits[0].window_after",
        "must end before Day 0",
    ),
    "first dosing visit not on day 0": (
        "    day: 0\n",
        "    day: 1  # HERE\n",
        "visits[1].day",
        "first dosing visit defines Day 0",
    ),
    "window on the Day 0 visit": (
        "    window_after: 0\n    dosing: true\n",
        "    window_after: 1  # HERE\n    dosing: true\n",
        "visits[1].window_after",
        "Day 0 dosing visit has no window",
    ),
    "dosing flag on a follow-up visit": (
        "    window_after: 3\n    forms: [renal, labs]\n",
        "    window_after: 3\n    dosing: true  # HERE\n    forms: [renal, labs]\n",
        "visits[2].dosing",
        "dosing must be true exactly for visits of kind dosing",
    ),
    "overlapping windows": (
        "    window_before: 7\n",
        "    window_before: 60  # HERE\n",
        "visits[3].window_before",
        "window (days 24..91) overlaps the window of visit 'W4' (days 25..31)",
    ),
    "negative window (schema)": (
        "    window_before: 3\n",
        "    window_before: -1  # HERE\n",
        "visits[2].window_before",
        "-1 is less than the minimum of 0",
    ),
    "primary visit unknown": (
        "  primary_visit: W12\n",
        "  primary_visit: W99  # HERE\n",
        "response.primary_visit",
        "unknown visit 'W99'",
    ),
    "primary visit not flagged": (
        "  primary_visit: W12\n",
        "  primary_visit: W4  # HERE\n",
        "response.primary_visit",
        "'W4' is not marked primary_endpoint: true",
    ),
    "two primary endpoint visits": (
        "    window_after: 3\n    forms: [renal, labs]\n",
        "    window_after: 3\n    primary_endpoint: true  # HERE\n    forms: [renal, labs]\n",
        "visits[2].primary_endpoint",
        "only one visit can be the primary endpoint",
    ),
    "optional primary endpoint visit": (
        "    primary_endpoint: true\n",
        "    primary_endpoint: true\n    optional: true  # HERE\n",
        "visits[3].optional",
        "primary endpoint visit cannot be optional",
    ),
    "unknown rule set": (
        "  rule_set: eular2019\n",
        "  rule_set: eular2020  # HERE\n",
        "response.rule_set",
        "unknown rule set 'eular2020'",
    ),
    "unknown secondary rule set": (
        "  secondary_rule_sets: [kdigo2021]\n",
        "  secondary_rule_sets: [kdigo2021, sledai]  # HERE\n",
        "response.secondary_rule_sets[1]",
        "unknown rule set 'sledai'",
    ),
    "secondary rule set repeats the primary": (
        "  secondary_rule_sets: [kdigo2021]\n",
        "  secondary_rule_sets: [eular2019]  # HERE\n",
        "response.secondary_rule_sets[0]",
        "already the primary rule set",
    ),
    "unknown stratification factor": (
        "  strata: [site]\n",
        "  strata: [site, sex]  # HERE\n",
        "randomization.strata[1]",
        "unknown stratification factor 'sex'",
    ),
    "block size not a multiple of the ratio sum": (
        "  block_sizes: [2, 4]\n",
        "  block_sizes: [2, 3]  # HERE\n",
        "randomization.block_sizes[1]",
        "block size 3 is not a multiple of the arm ratio sum 2",
    ),
    "unknown form code at a visit": (
        "    forms: [renal, labs]\n",
        "    forms: [renal, labz]  # HERE\n",
        "visits[2].forms[1]",
        "unknown form code 'labz'",
    ),
    "form missing from the trial's catalogue": (
        "    forms: [renal, labs]\n",
        "    forms: [renal, conmed]  # HERE\n",
        "visits[2].forms[1]",
        "form 'conmed' is not in this trial's forms catalogue",
    ),
    "unknown form code in the catalogue": (
        "forms: [consent, eligibility, infusion, vitals, renal, labs, end_of_study]\n",
        "forms: [consent, eligibility, infusion, vitals, renal, labs, end_of_study,\n"
        "        x_ray]  # HERE\n",
        "forms[7]",
        "unknown form code 'x_ray'",
    ),
    "allocation-revealing fields of an unknown form": (
        "    infusion: [arm, cell_count_1e6]\n",
        "    infusion: [arm, cell_count_1e6]\n    dispensing: [kit_number]  # HERE\n",
        "blinding.allocation_revealing.dispensing",
        "unknown form code 'dispensing'",
    ),
    "blinded trial without allocation-revealing fields": (
        "  allocation_revealing:\n    infusion: [arm, cell_count_1e6]\n",
        "  allocation_revealing: {}  # HERE\n",
        "blinding.allocation_revealing",
        "must list the allocation-revealing fields",
    ),
    "masked party count does not match masking": (
        "masked_parties: [participant, investigator]\n",
        "masked_parties: [participant]  # HERE\n",
        "masked_parties",
        "masking 'double' means 2 masked parties, 1 listed",
    ),
    "criteria not numbered consecutively": (
        "    - number: 2\n      code: IN02\n",
        "    - number: 3  # HERE\n      code: IN03\n",
        "eligibility.inclusion[1].number",
        "expected 2, got 3",
    ),
    "criterion code not matching its list and number": (
        "      code: IN02\n",
        "      code: EX02  # HERE\n",
        "eligibility.inclusion[1].code",
        "expected code 'IN02'",
    ),
    "maximum age below minimum": (
        "  min_age_years: 18\n",
        "  min_age_years: 18\n  max_age_years: 17  # HERE\n",
        "eligibility.max_age_years",
        "below min_age_years",
    ),
    "site factor naming a form field": (
        "    source: site\n",
        "    source: site\n    field: renal.biopsy_class  # HERE\n",
        "stratification_factors[0].field",
        "takes its level from the site",
    ),
    "soft weight limits outside the hard limits": (
        "  weight_soft_limits_kg: [40, 150]\n",
        "  weight_soft_limits_kg: [20, 150]  # HERE\n",
        "dosing.weight_soft_limits_kg",
        "within the hard limits",
    ),
    "no dose although nothing selects it": (
        "  cells_per_kg: 2.0e6\n",
        "  cells_per_kg: null  # HERE\n",
        "dosing.cells_per_kg",
        "a dose is required",
    ),
    "planned enrollment differs from the stage sizes": (
        "planned_enrollment: 20\n",
        "planned_enrollment: 21  # HERE\n",
        "planned_enrollment",
        "stage sizes add up to 20, not 21",
    ),
    "unknown time zone": (
        "    time_zone: Europe/Madrid\n",
        "    time_zone: Europe/Valladolid  # HERE\n",
        "sites[0].time_zone",
        "unknown IANA time zone 'Europe/Valladolid'",
    ),
}


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment"),
    list(SINGLE_PROBLEM_CASES.values()),
    ids=list(SINGLE_PROBLEM_CASES),
)
def test_single_problem_names_key_and_line(old: str, new: str, path: str, fragment: str) -> None:
    text, line = break_key(old, new)
    assert_only_issue(text, path, line, fragment)


def test_the_minimal_fixture_itself_is_valid() -> None:
    assert parse_protocol_text(MINIMAL).code == "DEMO"
    assert parse_protocol_text(escalation_text()).stages[0].kind == "dose_escalation"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../UTC", "europe/madrid "])
def test_time_zone_must_be_an_iana_name(zone: str) -> None:
    text, line = break_key(
        "    time_zone: America/Santiago\n", f'    time_zone: "{zone}"  # HERE\n'
    )
    assert_only_issue(text, "sites[1].time_zone", line, "unknown IANA time zone")


def test_at_least_one_site() -> None:
    start, end = MINIMAL.index("sites:\n"), MINIMAL.index("visits:\n")
    text = MINIMAL[:start] + "sites: []  # HERE\n" + MINIMAL[end:]
    assert_only_issue(text, "sites", line_of(text, "# HERE"), "should be non-empty")


def test_no_dosing_visit() -> None:
    text = replace_once(
        MINIMAL,
        "    kind: dosing\n    day: 0\n    window_before: 0\n    window_after: 0\n"
        "    dosing: true\n",
        "    kind: follow_up\n    day: 0\n    window_before: 0\n    window_after: 0\n",
    )
    assert_only_issue(text, "visits", line_of(text, "visits:"), "no dosing visit")


RANDOMISATION_VISIT = """\
  - code: RAND
    name: Randomisation
    kind: randomization
    day: -3
    window_before: 0
    window_after: {after}
    forms: [eligibility]
"""


def test_randomization_window_may_overlap_screening_and_day_0() -> None:
    visit = RANDOMISATION_VISIT.format(after=3)
    text = replace_once(MINIMAL, "  - code: D0\n", visit + "  - code: D0\n")
    assert [v.code for v in parse_protocol_text(text).visits] == ["SCR", "RAND", "D0", "W4", "W12"]


def test_randomization_must_be_done_by_day_0() -> None:
    visit = RANDOMISATION_VISIT.format(after="4  # HERE")
    text, line = break_key("  - code: D0\n", visit + "  - code: D0\n")
    assert_only_issue(text, "visits[1].window_after", line, "randomization must be done by Day 0")


def test_pre_treatment_visit_cannot_follow_day_0() -> None:
    visit = RANDOMISATION_VISIT.replace("day: -3", "day: 0").format(after=0)
    text = replace_once(MINIMAL, "  - code: W4\n", visit + "  - code: W4\n")
    assert_only_issue(
        text, "visits[2].kind", line_of(text, "    kind: randomization"), "cannot follow Day 0"
    )


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = replace_once(MINIMAL, "    time_zone: Europe/Madrid\n", "    time_zone: Nowhere/X\n")
    text = replace_once(text, "  rule_set: eular2019\n", "  rule_set: acr1997\n")
    text = replace_once(text, "    forms: [renal, labs]\n", "    forms: [renal, labz]\n")
    issues = issues_of(text)
    assert [i.path for i in issues] == [
        "sites[0].time_zone",
        "visits[2].forms[1]",
        "response.rule_set",
    ]
    assert [i.line for i in issues] == sorted(i.line or 0 for i in issues)

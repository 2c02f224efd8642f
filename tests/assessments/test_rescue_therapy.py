"""Rescue therapy in the renal response: the protocol's list, counted from Day 0, or the site's."""

from __future__ import annotations

from decimal import Decimal

from assessments.models import ConcomitantMedication, RenalAssessment
from assessments.rules.conmed import exposure_on
from tests.assessments.test_renal_form import (
    CASES,
    M12_DAY,
    NOW,
    NOW_B,
    RITUXIMAB_WEEK_10,
    W24_DAY,
    enrolled_in_cohort,
    enter_case,
    save,
)

# A rituximab course the site files as an immunosuppressant and leaves unanswered: only the
# protocol's rescue list and its dates decide whether it is rescue.
RITUXIMAB = {**RITUXIMAB_WEEK_10, "category": "immunosuppressant"}
# Months before screening (2026-02), outside the 6-month exclusion window of trial A.
RITUXIMAB_BEFORE_SCREENING = {**RITUXIMAB, "start_date": "2025-07-01", "end_date": "2025-07-15"}
# Trial B's standard of care: cyclophosphamide induction from Day 0 (2026-03-04).
CYCLOPHOSPHAMIDE_PER_PROTOCOL = {
    "medication": "Cyclophosphamide",
    "category": "immunosuppressant",
    "dose": Decimal(500),
    "dose_unit": "mg",
    "route": "intravenous",
    "frequency": "q2w",
    "start_date": "2026-03-10",
    "end_date": "2026-05-20",
}


def week24_with(team, participant, *conmeds) -> RenalAssessment:
    """Trial A's table case P1 (a complete renal response) at week 24 beside `conmeds`."""
    case = {**CASES["P1"], "conmeds": [*CASES["P1"]["conmeds"], *conmeds]}
    return enter_case(
        team,
        participant,
        case,
        baseline_visit="SEL",
        follow_up_visit="W24",
        day=W24_DAY,
        now=NOW,
    )


def month12_with(team, participant) -> RenalAssessment:
    """Table case P1 at trial B's month 12, beside the medications already entered."""
    return enter_case(
        team,
        participant,
        CASES["P1"],
        baseline_visit="SCR",
        follow_up_visit="M12",
        day=M12_DAY,
        now=NOW_B,
    )


def test_rituximab_before_screening_leaves_a_week24_complete_response(msvle, participant) -> None:
    form = week24_with(msvle, participant, RITUXIMAB_BEFORE_SCREENING)
    assert form.response_category == "CRR"
    assert "Rescue" not in form.response_note
    rituximab = ConcomitantMedication.objects.get(medication="Rituximab")
    assert (rituximab.is_rescue, rituximab.warnings) == (False, [])


def test_rituximab_after_day0_makes_the_week24_response_a_non_response(msvle, participant) -> None:
    form = week24_with(msvle, participant, RITUXIMAB)
    assert form.response_category == "NR"
    assert "Rescue therapy on or before 2026-08-19: Rituximab." in form.response_note
    rituximab = ConcomitantMedication.objects.get(medication="Rituximab")
    assert rituximab.is_rescue is True
    assert "started after Day 0" in rituximab.warnings[0]["message"]


def test_a_course_that_may_have_started_on_day0_counts_and_is_provisional(
    msvle, participant
) -> None:
    # "March 2026" may fall before or after Day 0 (4 March): counted, and said so.
    form = week24_with(msvle, participant, {**RITUXIMAB, "start_date": "2026-03"})
    assert (form.response_category, form.response_provisional) == ("NR", True)
    assert "may have started on or before Day 0 (2026-03-04)" in form.response_note


def test_trial_b_cyclophosphamide_per_protocol_is_not_rescue(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    save(mscrole, participant, None, CYCLOPHOSPHAMIDE_PER_PROTOCOL, form="conmed", now=NOW_B)
    cyclophosphamide = ConcomitantMedication.objects.get()
    assert (cyclophosphamide.is_rescue, cyclophosphamide.warnings) == (False, [])
    form = month12_with(mscrole, participant)
    assert form.response_category == "CR"
    assert form.secondary_responses["eular2019"]["category"] == "CRR"


def test_trial_b_rituximab_after_day0_is_rescue(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    save(mscrole, participant, None, RITUXIMAB, form="conmed", now=NOW_B)
    # Without the protocol's list only the site's word makes an entry rescue.
    assert exposure_on(participant, M12_DAY).rescue is False
    definition_rescue = participant.protocol_version.definition["response"]["rescue"]
    assert "rituximab" in definition_rescue["drugs"]
    assert "cyclophosphamide" not in definition_rescue["drugs"]
    form = month12_with(mscrole, participant)
    assert form.response_category == "NR"


def test_an_entry_the_investigator_marks_as_rescue_counts(msvle, participant) -> None:
    # Tacrolimus is on no list; the investigator's answer alone makes it rescue therapy.
    tacrolimus = {
        "medication": "Tacrolimus",
        "category": "immunosuppressant",
        "dose": Decimal(4),
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "daily",
        "start_date": "2026-06-01",
        "ongoing": True,
        "given_as_rescue": True,
    }
    form = week24_with(msvle, participant, tacrolimus)
    assert form.response_category == "NR"
    assert "Rescue therapy on or before 2026-08-19: Tacrolimus." in form.response_note


def test_the_site_answering_no_keeps_a_listed_drug_out(msvle, participant) -> None:
    form = week24_with(msvle, participant, {**RITUXIMAB, "given_as_rescue": False})
    assert form.response_category == "CRR"


def test_an_escalation_after_day0_counts(msvle, participant) -> None:
    """A dose change is recorded as a new entry from the day it starts: raising a listed drug
    after Day 0 is a listed drug started after Day 0, although the first course was not."""
    before = {
        **CYCLOPHOSPHAMIDE_PER_PROTOCOL,
        "start_date": "2026-02-10",
        "end_date": "2026-04-14",
    }
    form = week24_with(msvle, participant, before)
    assert form.response_category == "CRR"
    escalated = {
        **CYCLOPHOSPHAMIDE_PER_PROTOCOL,
        "dose": Decimal(1000),
        "start_date": "2026-04-15",
        "end_date": "2026-06-15",
    }
    save(msvle, participant, None, escalated, form="conmed")
    form.refresh_from_db()
    assert form.response_category == "NR"
    assert "Rescue therapy on or before 2026-08-19: Cyclophosphamide." in form.response_note

"""Dose-limiting toxicities of the phase IIa cohorts: the rule at its boundaries, the flag on
the adverse event, the count and list on the cohort review, and the review that gates the
next cohort."""

from __future__ import annotations

from datetime import date

import pytest
from rest_framework.test import APIClient

from ecrf.errors import DomainError, PermissionDeniedError
from safety.rules import meets_dlt
from safety.services import dose_limiting_recompute
from tests.assessments.test_infusion_form import ADMINISTRATION
from tests.assessments.test_infusion_form import save as save_infusion
from tests.assessments.test_renal_form import enrolled_in_cohort
from tests.personas import NOW as SETUP_NOW
from tests.safety.events import NOW, enter, follow_up
from tests.world import make_eligible
from trials.models import Cohort, CohortStatus, SafetyDecision
from trials.protocol import DoseLimitingToxicity
from trials.services import participant_enrol, safety_review_record

DLT = DoseLimitingToxicity(
    min_grade=3, related_only=True, window_days=28, events=("infusion_reaction",)
)
INFUSED = date(2026, 3, 4)


def meets(grade=3, causality="possible", aesi="", onset="2026-03-20", days=(INFUSED,)) -> bool:
    bounds = None if onset is None else _bounds(onset)
    return meets_dlt(
        DLT,
        grade=grade,
        causality=causality,
        aesi_category=aesi,
        onset=bounds,
        infusion_days=days,
    )


def _bounds(onset: str) -> tuple[date, date]:
    from safety.rules import partial_bounds

    return partial_bounds(onset)


def test_grade_3_counts_and_grade_2_does_not() -> None:
    assert meets(grade=3) is True
    assert meets(grade=4) is True
    assert meets(grade=2) is False
    assert meets(grade=None) is False


@pytest.mark.parametrize(
    ("causality", "expected"),
    [
        ("not_related", False),
        ("unlikely", False),
        ("", False),
        ("possible", True),
        ("probable", True),
        ("definite", True),
    ],
)
def test_only_a_related_event_counts(causality, expected) -> None:
    assert meets(causality=causality) is expected


def test_a_named_event_counts_whatever_its_relatedness() -> None:
    assert meets(causality="not_related", aesi="infusion_reaction") is True
    assert meets(causality="not_related", aesi="infusion_reaction", grade=2) is False
    assert meets(causality="not_related", aesi="infection") is False


@pytest.mark.parametrize(
    ("onset", "expected"),
    [
        ("2026-03-03", False),  # the day before the infusion
        ("2026-03-04", True),  # the infusion day
        ("2026-04-01", True),  # day 28
        ("2026-04-02", False),  # day 29
        ("2026-04", True),  # a partial date that may fall on days 28 to 57
        ("2026-05", False),
        (None, False),
    ],
)
def test_the_onset_lies_within_the_window_after_an_infusion(onset, expected) -> None:
    assert meets(onset=onset) is expected


def test_the_window_runs_after_each_infusion() -> None:
    second = date(2026, 9, 1)
    assert meets(onset="2026-09-20", days=(INFUSED, second)) is True
    assert meets(onset="2026-09-20", days=(INFUSED,)) is False
    assert meets(onset="2026-03-20", days=()) is False


GRADE_3 = {
    "verbatim_term": "Neutropenia",
    "onset_date": "2026-03-20",
    "ctcae_grade": 3,
    "investigator_causality": "possible",
    "ongoing": True,
}


@pytest.fixture
def dosed(mscrole):
    """A cohort C1 participant given the infusion at M0 on 2026-03-04."""
    participant = enrolled_in_cohort(mscrole)
    save_infusion(mscrole, participant, ADMINISTRATION, code="M0")
    return participant


def test_the_flag_is_derived_on_the_event_and_recomputed(mscrole, dosed) -> None:
    ae = enter(mscrole, dosed, GRADE_3)
    assert ae.dose_limiting is True
    ae = follow_up(mscrole, ae, {"ctcae_grade": 2}, reason="Grade corrected")
    assert ae.dose_limiting is False
    ae = follow_up(mscrole, ae, {"ctcae_grade": 3, "onset_date": "2026-04-02"}, reason="Onset")
    assert ae.dose_limiting is False


def test_an_event_entered_before_its_infusion_is_flagged_once_the_infusion_is(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    ae = enter(mscrole, participant, GRADE_3)
    assert ae.dose_limiting is False
    save_infusion(mscrole, participant, ADMINISTRATION, code="M0")
    ae.refresh_from_db()
    assert ae.dose_limiting is True
    latest = ae.history.latest("history_date")
    assert latest.history_change_reason == (
        "Recomputed: infusion changed (dose-limiting toxicity window)"
    )
    # Running it again changes nothing more.
    versions = ae.history.count()
    assert (
        dose_limiting_recompute(participant=participant, actor=mscrole.coordinator, now=NOW) == []
    )
    assert ae.history.count() == versions


def test_an_event_outside_a_cohort_is_never_a_dlt(msvle, participant) -> None:
    # Trial A has no dose escalation; trial B's phase IIb defines no DLT either.
    save_infusion(msvle, participant, ADMINISTRATION)
    ae = enter(msvle, participant, GRADE_3)
    assert ae.dose_limiting is None


def cohorts_of(client: APIClient, user) -> dict[str, dict]:
    client.force_login(user)
    response = client.get("/api/v1/trials/MSCROLE/cohorts/")
    assert response.status_code == 200, response.json()
    return {row["code"]: row for row in response.json()}


def test_the_cohort_review_shows_the_dlt_count_and_list(mscrole, dosed) -> None:
    ae = enter(mscrole, dosed, GRADE_3)
    enter(mscrole, dosed, {**GRADE_3, "verbatim_term": "Headache", "ctcae_grade": 2})
    client = APIClient()
    rows = cohorts_of(client, mscrole.medical_monitor)
    assert (rows["C1"]["dlt_count"], rows["C2"]["dlt_count"]) == (1, 0)
    assert rows["C1"]["dlts"] == [
        {
            "adverse_event": ae.pk,
            "participant": dosed.subject_id,
            "verbatim_term": "Neutropenia",
            "onset_date": "2026-03-20",
            "ctcae_grade": 3,
            "investigator_causality": "possible",
        }
    ]
    # Another site's coordinator sees the count the review decides on, not the events.
    other = cohorts_of(client, mscrole.other_coordinator)["C1"]
    assert (other["dlt_count"], other["dlts"]) == (1, [])


def test_the_next_cohort_opens_only_after_the_recorded_decision(mscrole, dosed) -> None:
    enter(mscrole, dosed, GRADE_3)
    for _ in range(2):
        participant_enrol(
            actor=mscrole.coordinator, participant=make_eligible(mscrole), now=SETUP_NOW
        )
    c1 = Cohort.objects.get(code="C1")
    assert c1.status == CohortStatus.FULL
    waiting = make_eligible(mscrole)
    with pytest.raises(DomainError, match="No cohort is open for enrolment"):
        participant_enrol(actor=mscrole.coordinator, participant=waiting, now=SETUP_NOW)
    for actor in (mscrole.investigator, mscrole.coordinator, mscrole.other_coordinator):
        with pytest.raises(PermissionDeniedError):
            safety_review_record(
                actor=actor,
                cohort=c1,
                decision=SafetyDecision.ESCALATE,
                rationale="One DLT in three",
                now=SETUP_NOW,
            )
    safety_review_record(
        actor=mscrole.medical_monitor,
        cohort=c1,
        decision=SafetyDecision.STAY,
        rationale="One DLT in three: expand the cohort by three.",
        expand_by=3,
        now=SETUP_NOW,
    )
    enrolled = participant_enrol(actor=mscrole.coordinator, participant=waiting, now=SETUP_NOW)
    assert enrolled.cohort.code == "C1"
    assert Cohort.objects.get(code="C2").status == CohortStatus.PLANNED

"""MSCROLE dose escalation: cohort enrolment, safety reviews, and the way into stage IIB."""

from __future__ import annotations

import pytest

from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from tests.personas import NOW
from tests.world import make_eligible, with_allocation
from trials.models import Cohort, CohortStatus, ParticipantStatus, SafetyDecision, SafetyReview
from trials.services import (
    active_cohort,
    dose_escalation_running,
    participant_enrol,
    participant_randomize,
    participant_withdraw,
    safety_review_record,
)


def cohort(code: str) -> Cohort:
    return Cohort.objects.get(code=code)


def enrol(team, count: int = 1):
    return [
        participant_enrol(actor=team.coordinator, participant=make_eligible(team), now=NOW)
        for _ in range(count)
    ]


def review(team, code: str, decision: str, expand_by: int = 0) -> SafetyReview:
    return safety_review_record(
        actor=team.medical_monitor,
        cohort=cohort(code),
        decision=decision,
        rationale="No dose-limiting toxicity in the cohort.",
        expand_by=expand_by,
        now=NOW,
    )


def statuses() -> dict[str, str]:
    return dict(Cohort.objects.order_by("order").values_list("code", "status"))


def test_enrolment_goes_to_the_open_cohort_at_its_dose(mscrole) -> None:
    (participant,) = enrol(mscrole)
    assert participant.status == ParticipantStatus.ENROLLED
    assert participant.cohort == cohort("C1")
    assert participant.cohort.dose_cells_per_kg == 1.0e6
    assert participant.stage_code == "IIA"
    assert participant.subject_id.startswith("SA01-001-")
    assert participant.randomization_number == ""
    assert participant.history.first().history_change_reason == "Enrolled in C1"
    assert active_cohort(mscrole.trial) == cohort("C1")


def test_cohort_is_full_after_three_and_enrolment_waits_for_review(mscrole) -> None:
    enrol(mscrole, 2)
    assert cohort("C1").status == CohortStatus.OPEN
    enrol(mscrole)
    assert statuses() == {"C1": "full", "C2": "planned", "C3": "planned"}
    assert active_cohort(mscrole.trial) is None
    waiting = make_eligible(mscrole)
    with pytest.raises(DomainError, match="No cohort is open for enrolment"):
        participant_enrol(actor=mscrole.coordinator, participant=waiting, now=NOW)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.cohort_id, waiting.subject_id) == ("eligible", None, None)
    assert cohort("C1").participants.count() == 3


def test_only_the_medical_monitor_records_a_safety_review(mscrole) -> None:
    enrol(mscrole, 3)
    for actor in (
        mscrole.investigator,
        mscrole.coordinator,
        mscrole.monitor,
        mscrole.trial_admin,
        mscrole.statistician,
        mscrole.unblinded_statistician,
    ):
        with pytest.raises(PermissionDeniedError):
            safety_review_record(
                actor=actor,
                cohort=cohort("C1"),
                decision=SafetyDecision.ESCALATE,
                rationale="Fine",
                now=NOW,
            )
    assert not SafetyReview.objects.exists()
    assert statuses()["C1"] == CohortStatus.FULL


def test_escalate_opens_the_next_cohort_at_its_dose(mscrole) -> None:
    enrol(mscrole, 3)
    decision = review(mscrole, "C1", SafetyDecision.ESCALATE)
    assert (decision.decided_by, decision.decided_at, decision.expand_by) == (
        mscrole.medical_monitor,
        NOW,
        0,
    )
    assert decision.history.get().history_user == mscrole.medical_monitor
    assert statuses() == {"C1": "reviewed", "C2": "open", "C3": "planned"}
    (participant,) = enrol(mscrole)
    assert participant.cohort.code == "C2"
    assert participant.cohort.dose_cells_per_kg == 2.0e6
    assert participant.subject_id.startswith("SA01-004-")


def test_stay_reopens_the_cohort_with_more_places(mscrole) -> None:
    enrol(mscrole, 3)
    with pytest.raises(DomainError, match="by how many participants"):
        review(mscrole, "C1", SafetyDecision.STAY, expand_by=0)
    review(mscrole, "C1", SafetyDecision.STAY, expand_by=2)
    assert statuses() == {"C1": "open", "C2": "planned", "C3": "planned"}
    enrol(mscrole)
    assert statuses()["C1"] == CohortStatus.OPEN
    enrol(mscrole)
    assert statuses() == {"C1": "full", "C2": "planned", "C3": "planned"}
    assert cohort("C1").participants.count() == 5
    with pytest.raises(DomainError, match="No cohort is open"):
        enrol(mscrole)
    review(mscrole, "C1", SafetyDecision.ESCALATE)
    assert statuses()["C2"] == CohortStatus.OPEN


def test_stop_ends_the_cohort_and_every_later_one(mscrole) -> None:
    enrol(mscrole, 3)
    review(mscrole, "C1", SafetyDecision.STOP)
    assert statuses() == {"C1": "stopped", "C2": "stopped", "C3": "stopped"}
    with pytest.raises(DomainError, match="No cohort is open"):
        enrol(mscrole)
    assert not dose_escalation_running(mscrole.trial)


def test_a_cohort_that_is_not_full_is_not_reviewed(mscrole) -> None:
    enrol(mscrole, 2)
    with pytest.raises(InvalidTransitionError, match="C1 is open; only a full cohort is reviewed"):
        review(mscrole, "C1", SafetyDecision.ESCALATE)
    with pytest.raises(InvalidTransitionError, match="C2 is planned"):
        review(mscrole, "C2", SafetyDecision.ESCALATE)
    assert not SafetyReview.objects.exists()
    assert statuses() == {"C1": "open", "C2": "planned", "C3": "planned"}


def test_a_reviewed_cohort_is_not_reviewed_again(mscrole) -> None:
    enrol(mscrole, 3)
    review(mscrole, "C1", SafetyDecision.ESCALATE)
    with pytest.raises(InvalidTransitionError, match="C1 is reviewed"):
        review(mscrole, "C1", SafetyDecision.STOP)
    assert statuses() == {"C1": "reviewed", "C2": "open", "C3": "planned"}


def test_decision_and_rationale_are_required(mscrole) -> None:
    enrol(mscrole, 3)
    with pytest.raises(DomainError, match="Choose escalate, stay or stop"):
        review(mscrole, "C1", "pause")
    with pytest.raises(DomainError, match="rationale"):
        safety_review_record(
            actor=mscrole.medical_monitor,
            cohort=cohort("C1"),
            decision=SafetyDecision.ESCALATE,
            rationale="  ",
            now=NOW,
        )
    assert not SafetyReview.objects.exists()


def test_randomization_into_stage_iib_opens_after_the_last_cohort(mscrole) -> None:
    with_allocation(mscrole)
    for code in ("C1", "C2", "C3"):
        enrolled = enrol(mscrole, 3)
        assert {p.cohort.code for p in enrolled} == {code}
        assert dose_escalation_running(mscrole.trial)
        waiting = make_eligible(mscrole)
        with pytest.raises(DomainError, match="Dose escalation is still running"):
            participant_randomize(actor=mscrole.coordinator, participant=waiting, now=NOW)
        review(mscrole, code, SafetyDecision.ESCALATE)
        waiting.refresh_from_db()
        assert waiting.status == ParticipantStatus.ELIGIBLE
        # Keep the waiting person out of the next cohort so that each cohort takes exactly 3.
        participant_withdraw(
            actor=mscrole.coordinator, participant=waiting, reason="Declined to wait", now=NOW
        )
    assert statuses() == {"C1": "reviewed", "C2": "reviewed", "C3": "reviewed"}
    assert not dose_escalation_running(mscrole.trial)
    randomized = participant_randomize(
        actor=mscrole.coordinator, participant=make_eligible(mscrole), now=NOW
    )
    assert randomized.status == ParticipantStatus.RANDOMIZED
    assert (randomized.stage_code, randomized.cohort_id) == ("IIB", None)
    assert randomized.randomization_number == "R0001"
    # Subject numbers run on across both stages at the site.
    assert randomized.subject_id.startswith("SA01-010-")

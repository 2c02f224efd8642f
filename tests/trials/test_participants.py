"""The participant lifecycle: consent, eligibility, transitions, site scoping."""

from __future__ import annotations

from datetime import date

import pytest

from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from tests.personas import NOW
from tests.world import make_eligible, register, with_allocation
from trials.identifiers import is_valid_subject_identifier
from trials.models import ParticipantStatus
from trials.services import (
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    participant_randomize,
    participant_screen_fail,
    participant_withdraw,
)
from trials.services.participants import eligibility_outcome


def test_no_study_data_before_consent(msvle) -> None:
    participant = register(msvle)
    with pytest.raises(DomainError, match="consent has not been recorded"):
        eligibility_answer(
            actor=msvle.coordinator,
            participant=participant,
            criterion_code="IN01",
            answer=True,
            now=NOW,
        )
    assert not participant.eligibility_answers.exists()


def test_consent_date_cannot_be_in_the_future(msvle) -> None:
    participant = register(msvle)
    with pytest.raises(DomainError, match="in the future"):
        consent_record(
            actor=msvle.coordinator,
            participant=participant,
            form_version="1.0",
            consent_date=date(2026, 3, 3),
            now=NOW,
        )


def test_checklist_derives_eligibility_and_investigator_confirms(msvle) -> None:
    participant = register(msvle)
    consent_record(
        actor=msvle.coordinator,
        participant=participant,
        form_version="2.1",
        consent_date=NOW.date(),
        now=NOW,
    )
    outcome = eligibility_outcome(participant)
    assert len(outcome["unanswered"]) == 32  # 7 inclusion + 25 exclusion criteria
    for code in outcome["unanswered"]:
        eligibility_answer(
            actor=msvle.coordinator,
            participant=participant,
            criterion_code=code,
            answer=code.startswith("IN"),
            now=NOW,
        )
    assert eligibility_outcome(participant)["eligible"] is True
    with pytest.raises(PermissionDeniedError):
        eligibility_confirm(actor=msvle.coordinator, participant=participant, now=NOW)
    confirmed = eligibility_confirm(actor=msvle.investigator, participant=participant, now=NOW)
    assert confirmed.status == ParticipantStatus.ELIGIBLE
    assert confirmed.eligibility_confirmed_by == msvle.investigator


def test_an_unmet_inclusion_or_applying_exclusion_blocks_confirmation(msvle) -> None:
    participant = register(msvle)
    consent_record(
        actor=msvle.coordinator,
        participant=participant,
        form_version="1",
        consent_date=NOW.date(),
        now=NOW,
    )
    for code in eligibility_outcome(participant)["unanswered"]:
        answer = (
            code.startswith("IN") if code not in ("IN05", "EX22") else not code.startswith("IN")
        )
        eligibility_answer(
            actor=msvle.coordinator,
            participant=participant,
            criterion_code=code,
            answer=answer,
            now=NOW,
        )
    outcome = eligibility_outcome(participant)
    assert outcome["unmet_inclusions"] == ["IN05"]
    assert outcome["applying_exclusions"] == ["EX22"]
    with pytest.raises(DomainError, match="Not eligible: IN05, EX22"):
        eligibility_confirm(actor=msvle.investigator, participant=participant, now=NOW)
    with pytest.raises(InvalidTransitionError):
        with_allocation(msvle)
        participant_randomize(actor=msvle.coordinator, participant=participant, now=NOW)
    failed = participant_screen_fail(
        actor=msvle.coordinator, participant=participant, reason="SLEDAI-2K 8", now=NOW
    )
    assert failed.status == ParticipantStatus.SCREEN_FAILED
    assert failed.screen_failure_reason == "SLEDAI-2K 8"


def test_incomplete_checklist_cannot_be_confirmed(msvle) -> None:
    participant = register(msvle)
    consent_record(
        actor=msvle.coordinator,
        participant=participant,
        form_version="1",
        consent_date=NOW.date(),
        now=NOW,
    )
    eligibility_answer(
        actor=msvle.coordinator,
        participant=participant,
        criterion_code="IN01",
        answer=True,
        now=NOW,
    )
    with pytest.raises(DomainError, match="checklist is incomplete"):
        eligibility_confirm(actor=msvle.investigator, participant=participant, now=NOW)


def test_unknown_criterion_is_refused(msvle) -> None:
    participant = register(msvle)
    consent_record(
        actor=msvle.coordinator,
        participant=participant,
        form_version="1",
        consent_date=NOW.date(),
        now=NOW,
    )
    with pytest.raises(DomainError, match="IN99 is not a criterion"):
        eligibility_answer(
            actor=msvle.coordinator,
            participant=participant,
            criterion_code="IN99",
            answer=True,
            now=NOW,
        )


def test_changing_an_answer_needs_a_reason_and_keeps_history(msvle) -> None:
    participant = register(msvle)
    consent_record(
        actor=msvle.coordinator,
        participant=participant,
        form_version="1",
        consent_date=NOW.date(),
        now=NOW,
    )
    eligibility_answer(
        actor=msvle.coordinator,
        participant=participant,
        criterion_code="EX20",
        answer=False,
        now=NOW,
    )
    with pytest.raises(DomainError, match="reason"):
        eligibility_answer(
            actor=msvle.coordinator,
            participant=participant,
            criterion_code="EX20",
            answer=True,
            now=NOW,
        )
    row = eligibility_answer(
        actor=msvle.investigator,
        participant=participant,
        criterion_code="EX20",
        answer=True,
        reason="Biopsy report",
        now=NOW,
    )
    assert [h.answer for h in row.history.order_by("history_date")] == [False, True]
    assert row.history.first().history_change_reason == "Biopsy report"


def test_randomization_gives_subject_id_and_randomization_number_only(msvle) -> None:
    with_allocation(msvle)
    participant = participant_randomize(
        actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW
    )
    assert participant.status == ParticipantStatus.RANDOMIZED
    assert participant.subject_id.startswith("VA01-001-")
    assert is_valid_subject_identifier(participant.subject_id)
    assert participant.randomization_number == "R0001"


def test_withdrawal_keeps_data_and_ends_transitions(msvle) -> None:
    participant = make_eligible(msvle)
    answers = participant.eligibility_answers.count()
    withdrawn = participant_withdraw(
        actor=msvle.coordinator, participant=participant, reason="Moved abroad", now=NOW
    )
    assert withdrawn.status == ParticipantStatus.WITHDRAWN
    assert withdrawn.eligibility_answers.count() == answers
    assert withdrawn.history.first().history_change_reason == "Moved abroad"
    with pytest.raises(InvalidTransitionError, match="cannot become"):
        participant_withdraw(
            actor=msvle.coordinator, participant=withdrawn, reason="Again", now=NOW
        )


def test_withdrawal_needs_a_reason(msvle) -> None:
    participant = register(msvle)
    with pytest.raises(DomainError, match="Give the reason"):
        participant_withdraw(actor=msvle.coordinator, participant=participant, reason=" ", now=NOW)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.SCREENING


def test_site_b_coordinator_cannot_act_on_site_a_participant(msvle) -> None:
    participant = register(msvle)
    with pytest.raises(PermissionDeniedError):
        consent_record(
            actor=msvle.other_coordinator,
            participant=participant,
            form_version="1",
            consent_date=NOW.date(),
            now=NOW,
        )
    with pytest.raises(PermissionDeniedError):
        participant_withdraw(
            actor=msvle.other_coordinator, participant=participant, reason="x", now=NOW
        )

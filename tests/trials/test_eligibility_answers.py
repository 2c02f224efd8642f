"""A checklist answered whole: each answer recorded with its own history, all or nothing, by
site staff of the participant's site only."""

from __future__ import annotations

import pytest

from accounts.services import system_actor
from ecrf.errors import DomainError, PermissionDeniedError
from review.locks import LockedError
from review.models import LockLevel
from review.services import lock_apply
from tests.personas import NOW
from tests.world import consented
from trials.models import EligibilityAnswer
from trials.services import eligibility_answers


def test_every_answer_is_recorded_with_its_own_history(msvle) -> None:
    participant = consented(msvle)
    rows = eligibility_answers(
        actor=msvle.coordinator,
        participant=participant,
        answers={"IN01": True, "EX01": False},
        now=NOW,
    )
    assert [(r.criterion_code, r.answer, r.kind) for r in rows] == [
        ("IN01", True, "inclusion"),
        ("EX01", False, "exclusion"),
    ]
    for row in rows:
        [created] = row.history.all()
        assert (created.history_type, created.history_user_id) == ("+", msvle.coordinator.pk)
        assert created.history_change_reason == "Initial entry"
        assert created.history_username == msvle.coordinator.username
        assert (created.answer, created.answered_at) == (row.answer, NOW)
    # The same answers again change nothing; a changed one is a new version.
    eligibility_answers(
        actor=msvle.coordinator,
        participant=participant,
        answers={"IN01": True, "EX01": True},
        reason="Re-read the source",
        now=NOW,
    )
    assert EligibilityAnswer.objects.get(criterion_code="IN01").history.count() == 1
    changed = EligibilityAnswer.objects.get(criterion_code="EX01")
    assert changed.answer is True and changed.history.count() == 2


def test_an_unknown_code_records_nothing(msvle) -> None:
    participant = consented(msvle)
    with pytest.raises(DomainError, match="IN99 is not a criterion"):
        eligibility_answers(
            actor=msvle.coordinator,
            participant=participant,
            answers={"IN01": True, "IN99": True},
            now=NOW,
        )
    assert not EligibilityAnswer.objects.exists()


def test_another_sites_coordinator_and_a_monitor_are_refused(msvle) -> None:
    participant = consented(msvle)
    for actor in (msvle.other_coordinator, msvle.monitor):
        with pytest.raises(PermissionDeniedError):
            eligibility_answers(
                actor=actor, participant=participant, answers={"IN01": True}, now=NOW
            )
    assert not EligibilityAnswer.objects.exists()


def test_a_locked_participant_records_no_answer(msvle) -> None:
    participant = consented(msvle)
    lock_apply(
        actor=system_actor(),
        level=LockLevel.PARTICIPANT,
        trial=msvle.trial,
        participant=participant,
        reason="Participant lock",
        now=NOW,
    )
    with pytest.raises(LockedError):
        eligibility_answers(
            actor=msvle.coordinator,
            participant=participant,
            answers={"IN01": True, "IN02": True, "EX01": False},
            now=NOW,
        )
    assert not EligibilityAnswer.objects.exists()

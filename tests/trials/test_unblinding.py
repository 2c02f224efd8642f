"""Emergency unblinding by the site investigator, its audit and notice, and who may see the arm."""

from __future__ import annotations

import pytest
from django.core import mail

from ecrf.access import Role
from ecrf.errors import DomainError, PermissionDeniedError
from tests.factories import MembershipFactory, UserFactory
from trials.models import AllocationSlot, UnblindingEvent
from trials.services import allocation_of, participant_randomize, participant_unblind

from .conftest import NOW, make_eligible, with_allocation

ARM_TEXTS = ("MSC", "PLACEBO", "Placebo", "Mesenchymal stem cells")


@pytest.fixture
def randomized(msvle):
    with_allocation(msvle)
    return participant_randomize(actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW)


def other_site_user(team, role: str):
    user = UserFactory(username=f"other_{role}")
    MembershipFactory(user=user, trial=team.trial, site=team.other_site, role=role)
    return user


def test_the_site_investigator_unblinds_and_sees_the_arm(msvle, randomized) -> None:
    with_arm = AllocationSlot.objects.get(participant=randomized).arm_code
    names = {"MSC": "Mesenchymal stem cells (MSC)", "PLACEBO": "Placebo"}
    result = participant_unblind(
        actor=msvle.investigator, participant=randomized, reason="Anaphylaxis", now=NOW
    )
    assert (result.arm_code, result.arm_name) == (with_arm, names[with_arm])
    randomized.refresh_from_db()
    assert randomized.unblinded_at == NOW
    history = randomized.history.first()
    assert (history.history_user, history.history_change_reason) == (
        msvle.investigator,
        "Emergency unblinding",
    )
    event = UnblindingEvent.objects.get(participant=randomized)
    assert event == result.event
    assert (event.requested_by, event.reason, event.created_at) == (
        msvle.investigator,
        "Anaphylaxis",
        NOW,
    )
    assert event.history.get().history_user == msvle.investigator


def test_a_second_unblinding_is_a_new_event_and_keeps_the_first_time(msvle, randomized) -> None:
    participant_unblind(actor=msvle.investigator, participant=randomized, reason="SAE", now=NOW)
    later = NOW.replace(hour=15)
    participant_unblind(actor=msvle.investigator, participant=randomized, reason="SUSAR", now=later)
    randomized.refresh_from_db()
    assert randomized.unblinded_at == NOW
    reasons = UnblindingEvent.objects.order_by("created_at").values_list("reason", flat=True)
    assert list(reasons) == ["SAE", "SUSAR"]


def test_others_may_not_unblind(msvle, randomized) -> None:
    for actor in (
        msvle.coordinator,
        msvle.monitor,
        msvle.pharmacist,
        msvle.medical_monitor,
        msvle.unblinded_statistician,
        msvle.trial_admin,
        other_site_user(msvle, Role.INVESTIGATOR),
    ):
        with pytest.raises(PermissionDeniedError):
            participant_unblind(actor=actor, participant=randomized, reason="Why", now=NOW)
    randomized.refresh_from_db()
    assert randomized.unblinded_at is None
    assert not UnblindingEvent.objects.exists()


def test_a_reason_is_required(msvle, randomized) -> None:
    with pytest.raises(DomainError, match="Give the medical reason") as caught:
        participant_unblind(actor=msvle.investigator, participant=randomized, reason=" ", now=NOW)
    assert "reason" in caught.value.fields
    assert not UnblindingEvent.objects.exists()


def test_a_participant_who_was_not_randomized_cannot_be_unblinded(msvle) -> None:
    with_allocation(msvle)
    participant = make_eligible(msvle)
    with pytest.raises(DomainError, match="has not been randomized; there is nothing to unblind"):
        participant_unblind(actor=msvle.investigator, participant=participant, reason="x", now=NOW)
    participant.refresh_from_db()
    assert participant.unblinded_at is None
    assert not UnblindingEvent.objects.exists()


def test_notice_goes_to_the_sponsor_after_commit_without_the_arm(
    msvle, randomized, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        participant_unblind(
            actor=msvle.investigator, participant=randomized, reason="Anaphylaxis", now=NOW
        )
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["admin@MSVLE.org", "medical_monitor@MSVLE.org"]
    assert message.subject == f"[MSVLE] Emergency unblinding of {randomized.subject_id}"
    assert "Reason: Anaphylaxis" in message.body
    assert "VA01" in message.body
    text = f"{message.subject}\n{message.body}"
    for arm_text in ARM_TEXTS:
        assert arm_text.lower() not in text.lower()


def test_no_notice_when_the_unblinding_is_refused(
    msvle, randomized, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDeniedError):
        participant_unblind(actor=msvle.coordinator, participant=randomized, reason="x", now=NOW)
    assert mail.outbox == []


def test_allocation_of_is_for_unblinded_roles_only(msvle, randomized) -> None:
    arm = AllocationSlot.objects.get(participant=randomized).arm_code
    assert allocation_of(user=msvle.pharmacist, participant=randomized) == arm
    assert allocation_of(user=msvle.unblinded_statistician, participant=randomized) == arm
    for user in (
        msvle.investigator,
        msvle.coordinator,
        msvle.monitor,
        msvle.medical_monitor,
        msvle.statistician,
        msvle.trial_admin,
        other_site_user(msvle, Role.PHARMACIST),
    ):
        with pytest.raises(PermissionDeniedError, match="blinded to allocation") as caught:
            allocation_of(user=user, participant=randomized)
        assert arm not in caught.value.message

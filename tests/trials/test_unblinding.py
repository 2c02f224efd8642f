"""Emergency unblinding by the site investigator, its audit and notice, and who may see the arm."""

from __future__ import annotations

import pytest
from django.core import mail

from ecrf.access import Role
from ecrf.errors import DomainError, PermissionDeniedError
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from tests.personas import NOW
from tests.world import make_eligible, with_allocation
from trials.models import AllocationRead, AllocationSlot, ArmGround, UnblindingEvent
from trials.services import allocation_read, participant_randomize, participant_unblind

ARM_TEXTS = ("MSC", "PLACEBO", "Placebo", "Mesenchymal stem cells")
PASSWORD = DEFAULT_PASSWORD


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
        actor=msvle.investigator,
        participant=randomized,
        reason="Anaphylaxis",
        password=PASSWORD,
        now=NOW,
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
    participant_unblind(
        actor=msvle.investigator, participant=randomized, reason="SAE", password=PASSWORD, now=NOW
    )
    later = NOW.replace(hour=15)
    participant_unblind(
        actor=msvle.investigator,
        participant=randomized,
        reason="SUSAR",
        password=PASSWORD,
        now=later,
    )
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
            participant_unblind(
                actor=actor, participant=randomized, reason="Why", password=PASSWORD, now=NOW
            )
    randomized.refresh_from_db()
    assert randomized.unblinded_at is None
    assert not UnblindingEvent.objects.exists()


def test_a_reason_is_required(msvle, randomized) -> None:
    with pytest.raises(DomainError, match="Give the medical reason") as caught:
        participant_unblind(
            actor=msvle.investigator,
            participant=randomized,
            reason=" ",
            password=PASSWORD,
            now=NOW,
        )
    assert "reason" in caught.value.fields
    assert not UnblindingEvent.objects.exists()


def test_a_participant_who_was_not_randomized_cannot_be_unblinded(msvle) -> None:
    with_allocation(msvle)
    participant = make_eligible(msvle)
    with pytest.raises(DomainError, match="has not been randomized; there is nothing to unblind"):
        participant_unblind(
            actor=msvle.investigator,
            participant=participant,
            reason="x",
            password=PASSWORD,
            now=NOW,
        )
    participant.refresh_from_db()
    assert participant.unblinded_at is None
    assert not UnblindingEvent.objects.exists()


def test_notice_goes_to_the_sponsor_after_commit_without_the_arm(
    msvle, randomized, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        participant_unblind(
            actor=msvle.investigator,
            participant=randomized,
            reason="Anaphylaxis",
            password=PASSWORD,
            now=NOW,
        )
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["admin@MSVLE.org", "medical_monitor@MSVLE.org"]
    assert message.subject == f"[MSVLE] Emergency unblinding of {randomized.subject_id}"
    assert "Reason: Anaphylaxis" in message.body
    assert "VA01" in message.body
    # On the clock of the site in Valladolid, which the reader can check against the site.
    assert "at 2026-03-02 10:30 (Europe/Madrid)." in message.body
    text = f"{message.subject}\n{message.body}"
    for arm_text in ARM_TEXTS:
        assert arm_text.lower() not in text.lower()


def test_no_notice_when_the_unblinding_is_refused(
    msvle, randomized, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDeniedError):
        participant_unblind(
            actor=msvle.coordinator, participant=randomized, reason="x", password=PASSWORD, now=NOW
        )
    assert mail.outbox == []


def test_a_wrong_or_missing_password_unblinds_nothing(msvle, randomized) -> None:
    for password in ("not my password", ""):
        with pytest.raises(DomainError, match="password is not correct") as caught:
            participant_unblind(
                actor=msvle.investigator,
                participant=randomized,
                reason="Anaphylaxis",
                password=password,
                now=NOW,
            )
        assert "password" in caught.value.fields
        assert not isinstance(caught.value, PermissionDeniedError)
    randomized.refresh_from_db()
    assert randomized.unblinded_at is None
    assert not UnblindingEvent.objects.exists()
    assert not AllocationRead.objects.exists()


def test_another_persons_password_does_not_unblind(msvle, randomized) -> None:
    msvle.coordinator.set_password("the coordinator's own")
    msvle.coordinator.save()
    with pytest.raises(DomainError, match="password is not correct"):
        participant_unblind(
            actor=msvle.investigator,
            participant=randomized,
            reason="Anaphylaxis",
            password="the coordinator's own",
            now=NOW,
        )
    assert not UnblindingEvent.objects.exists()


def test_the_unblinding_records_the_read_of_the_arm(msvle, randomized) -> None:
    participant_unblind(
        actor=msvle.investigator,
        participant=randomized,
        reason="Anaphylaxis",
        password=PASSWORD,
        path="/api/v1/participants/1/unblind/",
        now=NOW,
    )
    read = AllocationRead.objects.get()
    assert (read.user, read.participant, read.trial, read.ground, read.channel, read.at) == (
        msvle.investigator,
        randomized,
        msvle.trial,
        ArmGround.EMERGENCY,
        "api",
        NOW,
    )
    assert read.username == msvle.investigator.username
    assert read.full_name == msvle.investigator.get_full_name()
    assert read.path == "/api/v1/participants/1/unblind/"


def test_the_arm_is_read_through_the_gate_only(msvle, randomized) -> None:
    arm = AllocationSlot.objects.get(participant=randomized).arm_code
    read = allocation_read(user=msvle.pharmacist, participant=randomized, channel="api", now=NOW)
    assert read.allocation.arm_code == arm
    assert read.access.ground == ArmGround.PHARMACY
    # The unblinded statistician waits for the trial lock or a DSMB release.
    for user in (
        msvle.unblinded_statistician,
        msvle.investigator,
        msvle.coordinator,
        msvle.monitor,
        msvle.medical_monitor,
        msvle.statistician,
        msvle.trial_admin,
        other_site_user(msvle, Role.PHARMACIST),
    ):
        with pytest.raises(PermissionDeniedError) as caught:
            allocation_read(user=user, participant=randomized, channel="api", now=NOW)
        assert arm not in caught.value.message
    assert list(AllocationRead.objects.values_list("user", flat=True)) == [msvle.pharmacist.pk]

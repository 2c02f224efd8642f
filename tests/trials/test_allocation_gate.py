"""The blinding gate: every ground allowed for the right person, refused for the wrong role, site
or trial, and for every blinded role; locks, DSMB releases and their end as they happen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from accounts.models import User
from accounts.services import system_actor
from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import PermissionDeniedError
from review.models import LockLevel
from review.services import lock_apply, lock_release
from tests.factories import MembershipFactory, SiteFactory, TrialFactory, UserFactory
from tests.personas import Personas
from trials.blinding import arm_access, require_arm_access, trial_unblinding
from trials.models import ArmGround, Membership, Participant, ProtocolVersion, Site, Trial
from trials.services import dsmb_release_grant, dsmb_release_revoke, membership_end

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
BLINDED = (
    "coordinator_a",
    "coordinator_b",
    "monitor_a",
    "data_manager",
    "medical_monitor",
    "statistician",
    "trial_admin",
    "outsider",
)


@dataclass
class World:
    p: Personas
    at_a: Participant
    at_b: Participant
    other_trial: Trial
    other_site: Site
    in_other_trial: Participant
    # Each holds in the other trial the role that would open an arm here.
    other_pharmacist: User
    other_statistician: User
    other_investigator: User


def participant(trial: Trial, site: Site, number: str) -> Participant:
    version = ProtocolVersion.objects.filter(trial=trial).first() or ProtocolVersion.objects.create(
        trial=trial,
        number=1,
        label="1.0",
        checksum=f"{trial.code:0<64}"[:64],
        definition={},
        source_name="test.yaml",
        loaded_at=NOW,
        loaded_by=system_actor(),
    )
    return audited_save(
        Participant(
            trial=trial,
            site=site,
            protocol_version=version,
            screening_number=number,
            subject_id=number,
            randomization_number=f"R-{number}",
            sex="F",
            date_of_birth=date(1990, 1, 1),
            registered_at=NOW,
        ),
        actor=system_actor(),
    )


def member(role: str, trial: Trial, site: Site | None, name: str) -> User:
    user = UserFactory(username=name)
    MembershipFactory(user=user, trial=trial, site=site, role=role)
    return user


@pytest.fixture
def world(personas: Personas) -> World:
    other = TrialFactory(code="OTHER")
    other_site = SiteFactory(trial=other, code="C01")
    return World(
        p=personas,
        at_a=participant(personas.trial, personas.site_a, "A01-001"),
        at_b=participant(personas.trial, personas.site_b, "B01-001"),
        other_trial=other,
        other_site=other_site,
        in_other_trial=participant(other, other_site, "C01-001"),
        other_pharmacist=member(Role.PHARMACIST, other, other_site, "other_pharmacist"),
        other_statistician=member(Role.UNBLINDED_STATISTICIAN, other, None, "other_unblinded"),
        other_investigator=member(Role.INVESTIGATOR, other, other_site, "other_investigator"),
    )


def ground(user: Any, participant: Participant, now: datetime = NOW) -> str | None:
    access = arm_access(user, participant, now=now)
    return None if access is None else access.ground


def unblind(participant: Participant) -> None:
    participant.unblinded_at = NOW
    audited_save(
        participant,
        actor=system_actor(),
        reason="Emergency unblinding",
        update_fields=["unblinded_at"],
    )


def lock_trial(world: World, trial: Trial | None = None) -> Any:
    return lock_apply(
        actor=world.p.data_manager,
        level=LockLevel.TRIAL,
        trial=trial or world.p.trial,
        reason="Database lock",
        now=NOW,
    )


def release(world: World, **kwargs: Any) -> Any:
    return dsmb_release_grant(
        actor=world.p.trial_admin,
        trial=world.p.trial,
        recipient=world.p.unblinded_statistician,
        reason="DSMB meeting 3",
        now=kwargs.pop("at", NOW),
        **kwargs,
    )


# Pharmacy -----------------------------------------------------------------------------------


def test_the_pharmacist_sees_the_arms_of_their_own_site_only(world: World) -> None:
    assert ground(world.p.pharmacist_a, world.at_a) == ArmGround.PHARMACY
    assert ground(world.p.pharmacist_a, world.at_b) is None
    assert ground(world.other_pharmacist, world.at_a) is None
    assert ground(world.other_pharmacist, world.in_other_trial) == ArmGround.PHARMACY


def test_an_ended_membership_or_a_deactivated_account_opens_nothing(world: World) -> None:
    membership = Membership.objects.get(user=world.p.pharmacist_a)
    membership_end(actor=system_actor(), membership=membership, reason="Left the pharmacy")
    assert ground(world.p.pharmacist_a, world.at_a) is None
    world.other_pharmacist.is_active = False
    world.other_pharmacist.save()
    assert ground(world.other_pharmacist, world.in_other_trial) is None


# Blinded roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", BLINDED)
def test_blinded_roles_are_refused_whatever_the_lock_release_or_unblinding(
    world: World, persona: str
) -> None:
    user = getattr(world.p, persona)
    lock_trial(world)
    release(world)
    unblind(world.at_a)
    for target in (world.at_a, world.at_b):
        assert ground(user, target) is None, persona
        with pytest.raises(PermissionDeniedError, match="blinded to allocation"):
            require_arm_access(user, target, now=NOW)
    assert trial_unblinding(user, world.p.trial, now=NOW) is None


def test_a_platform_operator_without_a_role_and_the_system_account_are_refused(
    world: World,
) -> None:
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    lock_trial(world)
    assert ground(operator, world.at_a) is None
    assert ground(system_actor(), world.at_a) is None
    assert trial_unblinding(system_actor(), world.p.trial, now=NOW) is None


# Trial lock ---------------------------------------------------------------------------------


def test_the_unblinded_statistician_waits_for_the_trial_lock(world: World) -> None:
    statistician = world.p.unblinded_statistician
    assert ground(statistician, world.at_a) is None
    with pytest.raises(PermissionDeniedError, match="only after the trial is locked"):
        require_arm_access(statistician, world.at_a, now=NOW)
    lock = lock_trial(world)
    world.p.trial.refresh_from_db()
    assert world.p.trial.locked_at == NOW
    assert world.p.trial.history.first().history_change_reason == "Trial database locked"
    # Trial-wide: every site.
    assert ground(statistician, world.at_a) == ArmGround.TRIAL_LOCK
    assert ground(statistician, world.at_b) == ArmGround.TRIAL_LOCK
    assert trial_unblinding(statistician, world.p.trial, now=NOW).ground == ArmGround.TRIAL_LOCK
    # Another trial's lock or statistician opens nothing here, and the reverse.
    assert ground(world.other_statistician, world.at_a) is None
    assert ground(statistician, world.in_other_trial) is None
    lock_release(actor=world.p.data_manager, lock=lock, reason="Late query", now=NOW)
    world.p.trial.refresh_from_db()
    assert world.p.trial.locked_at is None
    assert ground(statistician, world.at_a) is None


def test_a_stale_trial_object_after_an_unlock_does_not_open_the_arm(world: World) -> None:
    lock = lock_trial(world)
    held = Participant.objects.select_related("trial").get(pk=world.at_a.pk)
    assert held.trial.locked_at == NOW
    lock_release(actor=world.p.data_manager, lock=lock, reason="Late query", now=NOW)
    assert ground(world.p.unblinded_statistician, held) is None


def test_another_trials_lock_opens_nothing_here(world: World) -> None:
    other_data_manager = member(Role.DATA_MANAGER, world.other_trial, None, "other_dm")
    lock_apply(
        actor=other_data_manager,
        level=LockLevel.TRIAL,
        trial=world.other_trial,
        reason="Database lock",
        now=NOW,
    )
    assert ground(world.other_statistician, world.in_other_trial) == ArmGround.TRIAL_LOCK
    assert ground(world.p.unblinded_statistician, world.at_a) is None


def test_a_site_or_participant_lock_is_not_a_trial_lock(world: World) -> None:
    for level, target in ((LockLevel.SITE, "site"), (LockLevel.PARTICIPANT, "participant")):
        lock_apply(
            actor=world.p.data_manager,
            level=level,
            trial=world.p.trial,
            reason="Monitoring visit",
            now=NOW,
            **{target: world.p.site_a if target == "site" else world.at_a},
        )
    world.p.trial.refresh_from_db()
    assert world.p.trial.locked_at is None
    assert ground(world.p.unblinded_statistician, world.at_a) is None


# DSMB release -------------------------------------------------------------------------------


def test_a_dsmb_release_opens_every_arm_until_revoked(world: World) -> None:
    statistician = world.p.unblinded_statistician
    granted = release(world)
    access = arm_access(statistician, world.at_b, now=NOW)
    assert access is not None
    assert (access.ground, access.release) == (ArmGround.DSMB_RELEASE, granted)
    assert ground(statistician, world.in_other_trial) is None
    dsmb_release_revoke(actor=world.p.trial_admin, release=granted, reason="Meeting over", now=NOW)
    assert ground(statistician, world.at_a, NOW + timedelta(seconds=1)) is None
    with pytest.raises(PermissionDeniedError, match="DSMB release"):
        require_arm_access(statistician, world.at_a, now=NOW + timedelta(seconds=1))


def test_a_dsmb_release_counts_from_its_grant_until_it_expires(world: World) -> None:
    statistician = world.p.unblinded_statistician
    release(world, expires_at=NOW + timedelta(days=7))
    assert ground(statistician, world.at_a, NOW - timedelta(seconds=1)) is None
    assert ground(statistician, world.at_a, NOW) == ArmGround.DSMB_RELEASE
    assert ground(statistician, world.at_a, NOW + timedelta(days=7, seconds=-1)) is not None
    assert ground(statistician, world.at_a, NOW + timedelta(days=7)) is None


def test_a_release_serves_only_its_recipient_in_its_trial(world: World) -> None:
    colleague = member(Role.UNBLINDED_STATISTICIAN, world.p.trial, None, "second_unblinded")
    release(world)
    assert ground(colleague, world.at_a) is None
    assert ground(world.other_statistician, world.at_a) is None
    assert trial_unblinding(colleague, world.p.trial, now=NOW) is None


def test_the_trial_lock_wins_over_a_release(world: World) -> None:
    release(world)
    lock_trial(world)
    assert ground(world.p.unblinded_statistician, world.at_a) == ArmGround.TRIAL_LOCK


# Emergency unblinding -----------------------------------------------------------------------


def test_an_emergency_unblinding_opens_that_participant_to_the_sites_investigators(
    world: World,
) -> None:
    investigator = world.p.investigator_a
    colleague = member(Role.INVESTIGATOR, world.p.trial, world.p.site_a, "investigator_a2")
    at_b = member(Role.INVESTIGATOR, world.p.trial, world.p.site_b, "investigator_b")
    assert ground(investigator, world.at_a) is None
    unblind(world.at_a)
    unblind(world.at_b)
    assert ground(investigator, world.at_a) == ArmGround.EMERGENCY
    assert ground(colleague, world.at_a) == ArmGround.EMERGENCY
    # Not another site's participant, nor another site's investigator, nor other roles.
    assert ground(investigator, world.at_b) is None
    assert ground(at_b, world.at_a) is None
    assert ground(at_b, world.at_b) == ArmGround.EMERGENCY
    assert ground(world.p.coordinator_a, world.at_a) is None
    assert ground(world.p.unblinded_statistician, world.at_a) is None
    assert ground(world.other_investigator, world.at_a) is None


def test_the_pharmacist_ground_comes_first(world: World) -> None:
    both = member(Role.PHARMACIST, world.p.trial, world.p.site_a, "pharmacist_and_unblinded")
    MembershipFactory(user=both, trial=world.p.trial, site=None, role=Role.UNBLINDED_STATISTICIAN)
    lock_trial(world)
    assert ground(both, world.at_a) == ArmGround.PHARMACY
    assert ground(both, world.at_b) == ArmGround.TRIAL_LOCK


# The admin ----------------------------------------------------------------------------------


def test_the_admin_shows_no_arm_and_cannot_set_the_lock(world: World) -> None:
    from django.contrib import admin

    from trials.models import AllocationList, AllocationRead, AllocationSlot, DsmbRelease

    for model in (AllocationList, AllocationSlot, AllocationRead, DsmbRelease):
        assert not admin.site.is_registered(model), model
    trial_admin = admin.site._registry[Trial]
    form = trial_admin.get_form(request=None)  # type: ignore[arg-type]
    assert "locked_at" not in form.base_fields

"""Arm reads through the API and the pages: the revoked and expired DSMB release reproduced, a
record of every read with its ground and none of a refusal, and the list of reads per trial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from ecrf.access import Role
from review.models import LockLevel
from review.services import lock_apply, lock_release
from tests.factories import MembershipFactory, UserFactory
from tests.personas import NOW, Team
from tests.world import grant_release, make_eligible, with_allocation
from trials.models import AllocationRead, AllocationSlot, ArmGround, Participant
from trials.services import dsmb_release_revoke, participant_randomize

LATER = NOW + timedelta(days=30)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(LATER, tick=False)


@pytest.fixture
def randomized(msvle: Team) -> list[Participant]:
    with_allocation(msvle)
    return [
        participant_randomize(actor=msvle.coordinator, participant=make_eligible(msvle), now=NOW)
        for _ in range(3)
    ]


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


def allocation_url(participant: Participant) -> str:
    return f"/api/v1/participants/{participant.pk}/allocation/"


def test_after_a_release_is_revoked_no_arm_is_read_and_nothing_recorded(
    msvle: Team, randomized: list[Participant]
) -> None:
    """The reproduction: the unblinded export was refused after the revocation, but every arm
    was still read through the allocation API, and no read left a record."""
    release = grant_release(msvle, now=LATER - timedelta(hours=1))
    api = api_as(msvle.unblinded_statistician)
    for participant in randomized:
        reply = api.get(allocation_url(participant))
        assert reply.status_code == 200
        assert reply.json()["ground"] == "dsmb_release"
        assert (
            reply.json()["arm"]["code"]
            == AllocationSlot.objects.get(participant=participant).arm_code
        )
    reads = AllocationRead.objects.order_by("pk")
    assert [(r.participant_id, r.ground, r.dsmb_release_id, r.channel) for r in reads] == [
        (p.pk, ArmGround.DSMB_RELEASE, release.pk, "api") for p in randomized
    ]
    assert {r.path for r in reads} == {allocation_url(p) for p in randomized}
    assert {(r.user_id, r.username, r.at) for r in reads} == {
        (msvle.unblinded_statistician.pk, msvle.unblinded_statistician.username, LATER)
    }

    dsmb_release_revoke(actor=msvle.trial_admin, release=release, reason="Meeting over", now=LATER)
    for participant in randomized:
        refused = api.get(allocation_url(participant))
        assert refused.status_code == 403
        assert "DSMB release" in refused.json()["error"]["message"]
        assert "arm" not in refused.json()
    assert AllocationRead.objects.count() == len(randomized)
    # The unblinded export is refused on the same rule, as it was.
    refused = api.post("/api/v1/exports/", {"trial": "MSVLE", "format": "csv", "unblinded": True})
    assert refused.status_code == 403


def test_after_a_release_expires_no_arm_is_read(
    msvle: Team, randomized: list[Participant], time_machine
) -> None:
    grant_release(msvle, now=LATER - timedelta(days=1), expires_at=LATER + timedelta(minutes=10))
    api = api_as(msvle.unblinded_statistician)
    assert api.get(allocation_url(randomized[0])).status_code == 200
    time_machine.move_to(LATER + timedelta(minutes=10), tick=False)
    assert api.get(allocation_url(randomized[0])).status_code == 403
    assert AllocationRead.objects.count() == 1


def test_the_trial_lock_opens_the_arms_until_the_unlock(
    msvle: Team, randomized: list[Participant]
) -> None:
    data_manager = UserFactory(username="msvle_dm")
    MembershipFactory(user=data_manager, trial=msvle.trial, role=Role.DATA_MANAGER)
    api = api_as(msvle.unblinded_statistician)
    assert api.get(allocation_url(randomized[0])).status_code == 403
    lock = lock_apply(
        actor=data_manager, level=LockLevel.TRIAL, trial=msvle.trial, reason="Final", now=LATER
    )
    reply = api.get(allocation_url(randomized[0]))
    assert (reply.status_code, reply.json()["ground"]) == (200, "trial_lock")
    lock_release(actor=data_manager, lock=lock, reason="Query re-opened", now=LATER)
    assert api.get(allocation_url(randomized[0])).status_code == 403
    assert list(AllocationRead.objects.values_list("ground", flat=True)) == ["trial_lock"]


def test_wrong_role_site_or_trial_is_refused_and_leaves_no_record(
    msvle: Team, mscrole: Team, randomized: list[Participant]
) -> None:
    grant_release(msvle)
    other_pharmacist = UserFactory(username="msvle_other_pharmacist")
    MembershipFactory(
        user=other_pharmacist, trial=msvle.trial, site=msvle.other_site, role=Role.PHARMACIST
    )
    for user, status in (
        (msvle.coordinator, 403),
        (msvle.investigator, 403),
        (msvle.monitor, 403),
        (msvle.statistician, 403),
        (msvle.medical_monitor, 403),
        (msvle.trial_admin, 403),
        # Another site's pharmacist and another trial's roles never find the participant.
        (other_pharmacist, 404),
        (mscrole.pharmacist, 404),
        (mscrole.unblinded_statistician, 404),
    ):
        reply = api_as(user).get(allocation_url(randomized[0]))
        assert reply.status_code == status, user.username
    assert not AllocationRead.objects.exists()


def test_the_pharmacists_page_and_api_reads_are_recorded(
    client, msvle: Team, randomized: list[Participant]
) -> None:
    client.force_login(msvle.pharmacist)
    page = f"/trials/participants/{randomized[0].pk}/"
    assert "Treatment to prepare" in client.get(page).content.decode()
    api_as(msvle.pharmacist).get(allocation_url(randomized[1]))
    reads = AllocationRead.objects.order_by("pk")
    assert [(r.participant_id, r.ground, r.channel, r.path) for r in reads] == [
        (randomized[0].pk, "pharmacy", "page", page),
        (randomized[1].pk, "pharmacy", "api", allocation_url(randomized[1])),
    ]


def test_a_renamed_reader_stays_named_as_they_were(
    msvle: Team, randomized: list[Participant]
) -> None:
    pharmacist = msvle.pharmacist
    pharmacist.first_name, pharmacist.last_name = "Paula", "Pharma"
    pharmacist.save()
    api_as(pharmacist).get(allocation_url(randomized[0]))
    pharmacist.username, pharmacist.last_name = "renamed", "Renamed"
    pharmacist.save()
    read = AllocationRead.objects.get()
    assert (read.username, read.full_name) == ("msvle_pharmacist", "Paula Pharma")


def test_a_read_record_is_never_changed_or_removed(
    msvle: Team, randomized: list[Participant]
) -> None:
    from ecrf.errors import DomainError

    api_as(msvle.pharmacist).get(allocation_url(randomized[0]))
    read = AllocationRead.objects.get()
    read.ground = "trial_lock"
    with pytest.raises(DomainError, match="never changed"):
        read.save()
    with pytest.raises(DomainError, match="never removed"):
        read.delete()
    assert AllocationRead.objects.get().ground == "pharmacy"


# The list of reads --------------------------------------------------------------------------


def reads_url(code: str = "MSVLE") -> str:
    return f"/api/v1/trials/{code}/allocation-reads/"


def test_trial_admins_and_medical_monitors_follow_the_reads(
    msvle: Team, randomized: list[Participant]
) -> None:
    grant_release(msvle)
    api_as(msvle.pharmacist).get(allocation_url(randomized[0]))
    for participant in randomized:
        api_as(msvle.unblinded_statistician).get(allocation_url(participant))
    for reader in (msvle.trial_admin, msvle.medical_monitor):
        body = api_as(reader).get(reads_url(), {"limit": 2}).json()
        assert body["count"] == 4
        assert len(body["results"]) == 2 and body["next"]
        newest = body["results"][0]
        assert newest["username"] == msvle.unblinded_statistician.username
        assert newest["ground"] == "dsmb_release" and newest["dsmb_release"] is not None
        assert newest["channel"] == "api"
        # Who read, never what: no arm in the record of reads.
        assert not {"arm", "arm_code"} & set(newest)
    admin = api_as(msvle.trial_admin)
    by_ground = admin.get(reads_url(), {"ground": "pharmacy"}).json()
    assert [row["username"] for row in by_ground["results"]] == [msvle.pharmacist.username]
    by_participant = admin.get(reads_url(), {"participant": randomized[1].pk}).json()
    assert by_participant["count"] == 1
    by_reader = admin.get(reads_url(), {"reader": msvle.pharmacist.username}).json()
    assert by_reader["count"] == 1
    assert admin.get(reads_url(), {"ground": "curiosity"}).status_code == 400


def test_the_reads_are_refused_to_other_roles_and_other_trials(
    msvle: Team, mscrole: Team, randomized: list[Participant]
) -> None:
    api_as(msvle.pharmacist).get(allocation_url(randomized[0]))
    for user in (
        msvle.pharmacist,
        msvle.unblinded_statistician,
        msvle.coordinator,
        msvle.investigator,
        msvle.monitor,
        msvle.statistician,
    ):
        assert api_as(user).get(reads_url()).status_code == 403, user.username
    assert api_as(mscrole.trial_admin).get(reads_url()).status_code == 404


def test_the_list_of_reads_costs_the_same_whatever_its_length(
    msvle: Team, randomized: list[Participant], django_assert_num_queries
) -> None:
    for participant in randomized:
        api_as(msvle.pharmacist).get(allocation_url(participant))
    api = api_as(msvle.trial_admin)
    # session, user, the trial among the user's trials, the user's roles in it, the count,
    # the page (participants joined), and the idle timeout's session write (savepoint,
    # update, release). Nothing per row.
    with django_assert_num_queries(9):
        body = api.get(reads_url()).json()
    assert body["count"] == 3

"""Requesting an export: who may, blinded or not, as of which instant and protocol version; and
the DSMB releases that allow an unblinded export before trial lock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from exports.models import Export, ExportStatus
from exports.selectors import export_rights
from exports.services import export_request, parse_as_of
from review.services import lock_release
from tests.exports.job_fixtures import (
    LATER,
    T0,
    T1,
    World,
    after,
    grant_release,
    lock_trial,
    request,
)
from trials.blinding import active_release
from trials.models import DsmbRelease, ProtocolVersion
from trials.services import dsmb_release_revoke

# Site staff, pharmacist, monitors and the trial administrator: none of them exports.
REFUSED = [
    "coordinator",
    "investigator",
    "pharmacist",
    "monitor",
    "medical_monitor",
    "trial_admin",
]


@pytest.mark.parametrize("who", REFUSED)
def test_roles_other_than_statistician_are_refused(world: World, who: str) -> None:
    with pytest.raises(PermissionDeniedError, match="Only a statistician of this trial"):
        request(world, getattr(world.team, who))
    assert not Export.objects.exists()


def test_data_manager_and_outsider_are_refused(world: World) -> None:
    for actor in (world.data_manager, world.outsider):
        with pytest.raises(PermissionDeniedError, match="Only a statistician"):
            request(world, actor)
    assert not Export.objects.exists()


def test_a_statistician_of_another_trial_is_refused(world: World, personas) -> None:
    with pytest.raises(PermissionDeniedError):
        request(world, personas.statistician)


def test_blinded_statistician_requests_a_blinded_export(
    world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = export_request(
            actor=world.team.statistician, trial=world.trial, fmt="xpt", as_of=T1, now=LATER
        )
    assert len(callbacks) == 1, "the job is enqueued once the request commits"
    export.refresh_from_db()
    assert export.status == ExportStatus.QUEUED
    assert export.blinded is True
    assert export.format == "xpt"
    assert export.as_of == T1
    assert export.requested_by == world.team.statistician
    assert export.protocol_version.trial == world.trial
    assert export.created_at == LATER
    # Who requested what, and when, is on the history.
    record = export.history.get()
    assert record.history_user == world.team.statistician
    assert "blinded xpt export" in record.history_change_reason


def test_the_command_path_enqueues_nothing(
    world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request(world)
    assert callbacks == []


def test_as_of_defaults_to_now(world: World) -> None:
    assert request(world).as_of == LATER


def test_unblinded_statistician_may_request_a_blinded_export_any_time(world: World) -> None:
    export = request(world, world.team.unblinded_statistician)
    assert export.blinded is True


def test_blinded_statistician_cannot_get_an_unblinded_export_even_after_lock(
    world: World,
) -> None:
    lock_trial(world)
    with pytest.raises(PermissionDeniedError, match="Only an unblinded statistician"):
        request(world, unblinded=True)
    assert not Export.objects.exists()


def test_unblinded_refused_before_trial_lock_without_release(world: World) -> None:
    with pytest.raises(PermissionDeniedError, match="only after the trial is locked"):
        request(world, world.team.unblinded_statistician, unblinded=True)
    assert not Export.objects.exists()


def test_unblinded_allowed_after_trial_lock(world: World) -> None:
    lock_trial(world)
    export = request(world, world.team.unblinded_statistician, unblinded=True)
    assert export.blinded is False
    assert export.dsmb_release is None


def test_unblinded_refused_again_once_the_trial_is_unlocked(world: World) -> None:
    lock = lock_trial(world)
    lock_release(
        actor=world.data_manager, lock=lock, reason="Late query answered", now=after(LATER, hours=1)
    )
    with pytest.raises(PermissionDeniedError):
        request(world, world.team.unblinded_statistician, unblinded=True)


def test_unblinded_allowed_with_a_dsmb_release_and_recorded_on_the_export(world: World) -> None:
    release = grant_release(world)
    export = request(world, world.team.unblinded_statistician, unblinded=True)
    assert export.blinded is False
    assert export.dsmb_release == release
    assert f"DSMB release #{release.pk}" in export.history.get().history_change_reason


def test_a_release_for_one_statistician_does_not_serve_another(world: World) -> None:
    from ecrf.access import Role
    from tests.factories import MembershipFactory, UserFactory

    other = UserFactory(username="msvle_other_unblinded")
    MembershipFactory(user=other, trial=world.trial, role=Role.UNBLINDED_STATISTICIAN)
    grant_release(world)
    with pytest.raises(PermissionDeniedError):
        request(world, other, unblinded=True)


def test_unblinded_refused_after_the_release_is_revoked(world: World) -> None:
    release = grant_release(world)
    revoked = dsmb_release_revoke(
        actor=world.team.trial_admin,
        release=release,
        reason="Meeting postponed",
        now=after(LATER, minutes=5),
    )
    assert revoked.revoked_by == world.team.trial_admin
    with pytest.raises(PermissionDeniedError, match="DSMB release"):
        request(world, world.team.unblinded_statistician, unblinded=True, now=after(LATER, hours=1))
    history = list(revoked.history.order_by("history_date", "history_id"))
    assert [h.history_change_reason for h in history] == [
        "DSMB meeting 2 (interim safety review)",
        "Meeting postponed",
    ]


def test_unblinded_refused_once_the_release_expires(world: World) -> None:
    grant_release(world, expires_at=after(LATER, days=7))
    statistician = world.team.unblinded_statistician
    assert request(world, statistician, unblinded=True, now=after(LATER, days=6)).blinded is False
    with pytest.raises(PermissionDeniedError):
        request(world, statistician, unblinded=True, now=after(LATER, days=7))


def test_the_system_actor_exports_blinded_only(world: World) -> None:
    from accounts.services import system_actor

    lock_trial(world)
    assert request(world, system_actor()).blinded is True
    with pytest.raises(PermissionDeniedError, match="in the name of an unblinded statistician"):
        request(world, system_actor(), unblinded=True)


# As-of instant and protocol version --------------------------------------------------------


def test_as_of_in_the_future_is_refused(world: World) -> None:
    with pytest.raises(DomainError, match="lies in the future") as refused:
        request(world, as_of=after(LATER, seconds=1))
    assert "as_of" in refused.value.fields


def test_as_of_before_the_trial_existed_is_refused(world: World) -> None:
    with pytest.raises(DomainError, match="did not exist yet") as refused:
        request(world, as_of=after(T0, days=-1))
    assert "as_of" in refused.value.fields


def test_as_of_at_the_trial_setup_is_accepted(world: World) -> None:
    assert request(world, as_of=T0).protocol_version.number == 1


def test_the_protocol_version_in_force_at_as_of_is_chosen(world: World) -> None:
    first = ProtocolVersion.objects.get(trial=world.trial)
    amended = ProtocolVersion.objects.create(
        trial=world.trial,
        number=2,
        label=f"{first.label}-amendment",
        checksum="0" * 64,
        definition=first.definition,
        source_name="amendment.yaml",
        loaded_at=after(T1, days=30),
        loaded_by=first.loaded_by,
    )
    assert request(world, as_of=after(T1, days=29)).protocol_version == first
    assert request(world, as_of=after(T1, days=30)).protocol_version == amended
    assert request(world).protocol_version == amended


def test_unknown_format_is_refused(world: World) -> None:
    with pytest.raises(DomainError, match="Unknown format"):
        request(world, fmt="sav")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-03-05", "2026-03-05T00:00:00+00:00"),
        ("2026-03-05T10:00", "2026-03-05T10:00:00+00:00"),
        ("2026-03-05T10:00:00Z", "2026-03-05T10:00:00+00:00"),
        ("2026-03-05T11:00:00+01:00", "2026-03-05T11:00:00+01:00"),
    ],
)
def test_parse_as_of(text: str, iso: str) -> None:
    assert parse_as_of(text).isoformat() == iso


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "05/03/2026", ""])
def test_parse_as_of_refuses_what_is_not_iso(text: str) -> None:
    with pytest.raises(DomainError, match="not an ISO 8601"):
        parse_as_of(text)


# DSMB releases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["unblinded_statistician", "statistician", "coordinator", "medical_monitor"]
)
def test_only_a_trial_administrator_grants_a_release(world: World, who: str) -> None:
    from trials.services import dsmb_release_grant

    with pytest.raises(PermissionDeniedError, match="trial administrator"):
        dsmb_release_grant(
            actor=getattr(world.team, who),
            trial=world.trial,
            recipient=world.team.unblinded_statistician,
            reason="DSMB",
            now=LATER,
        )
    assert not DsmbRelease.objects.exists()


def test_the_data_manager_cannot_grant_a_release(world: World) -> None:
    from trials.services import dsmb_release_grant

    with pytest.raises(PermissionDeniedError):
        dsmb_release_grant(
            actor=world.data_manager,
            trial=world.trial,
            recipient=world.team.unblinded_statistician,
            reason="DSMB",
            now=LATER,
        )


def test_a_release_goes_only_to_an_unblinded_statistician(world: World) -> None:
    from trials.services import dsmb_release_grant

    for recipient in (world.team.statistician, world.outsider):
        with pytest.raises(DomainError, match="only to an unblinded statistician"):
            dsmb_release_grant(
                actor=world.team.trial_admin,
                trial=world.trial,
                recipient=recipient,
                reason="DSMB",
                now=LATER,
            )


def test_a_release_needs_a_reason_and_a_later_expiry(world: World) -> None:
    from trials.services import dsmb_release_grant

    common = {
        "actor": world.team.trial_admin,
        "trial": world.trial,
        "recipient": world.team.unblinded_statistician,
        "now": LATER,
    }
    with pytest.raises(DomainError, match="reason"):
        dsmb_release_grant(reason="  ", **common)
    with pytest.raises(DomainError, match="expire after"):
        dsmb_release_grant(reason="DSMB", expires_at=LATER, **common)


def test_grant_is_audited_with_actor_and_reason(world: World) -> None:
    release = grant_release(world)
    record = release.history.get()
    assert record.history_user == world.team.trial_admin
    assert record.history_change_reason == "DSMB meeting 2 (interim safety review)"
    assert active_release(world.team.unblinded_statistician, world.trial, now=LATER) == release
    assert (
        active_release(world.team.unblinded_statistician, world.trial, now=after(LATER, seconds=-1))
        is None
    )


def test_revoking_twice_is_refused_and_needs_a_reason(world: World) -> None:
    release = grant_release(world)
    with pytest.raises(DomainError, match="reason"):
        dsmb_release_revoke(actor=world.team.trial_admin, release=release, reason="", now=LATER)
    with pytest.raises(PermissionDeniedError):
        dsmb_release_revoke(
            actor=world.team.unblinded_statistician, release=release, reason="x", now=LATER
        )
    dsmb_release_revoke(actor=world.team.trial_admin, release=release, reason="Done", now=LATER)
    with pytest.raises(InvalidTransitionError):
        dsmb_release_revoke(
            actor=world.team.trial_admin, release=release, reason="Again", now=LATER
        )


def test_export_rights_summarise_the_rules(world: World) -> None:
    team = world.team
    assert export_rights(team.coordinator, world.trial, now=LATER).blinded is False
    blinded = export_rights(team.statistician, world.trial, now=LATER)
    assert (blinded.blinded, blinded.unblinded) == (True, False)
    unblinded = export_rights(team.unblinded_statistician, world.trial, now=LATER)
    assert (unblinded.blinded, unblinded.unblinded_role, unblinded.unblinded) == (True, True, False)
    grant_release(world)
    assert export_rights(team.unblinded_statistician, world.trial, now=LATER).unblinded is True
    assert export_rights(team.statistician, world.trial, now=LATER).unblinded is False


def test_an_ended_membership_ends_the_right_to_export(world: World) -> None:
    from accounts.services import system_actor
    from trials.models import Membership
    from trials.services import membership_end

    membership = Membership.objects.get(user=world.team.statistician, trial=world.trial)
    membership_end(actor=system_actor(), membership=membership, reason="Left the study team")
    with pytest.raises(PermissionDeniedError):
        request(world)


def test_release_window_edges(world: World) -> None:
    release = grant_release(world, expires_at=after(LATER, days=1))
    assert release.is_active(LATER)
    assert not release.is_active(LATER - timedelta(seconds=1))
    assert not release.is_active(after(LATER, days=1))

"""Writes of the blinding gate: reading an arm with its audit record, and DSMB releases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from trials.access import user_roles
from trials.blinding import (
    Allocation,
    ArmAccess,
    may_grant_release,
    participant_arm,
    require_arm_access,
)
from trials.models import AllocationRead, DsmbRelease, Participant, Trial

PATH_LENGTH = AllocationRead._meta.get_field("path").max_length or 300
# Rows per INSERT when an export records the arms it showed.
BULK_BATCH = 1000


@dataclass(frozen=True)
class ArmRead:
    """An arm as shown to one reader, with the ground it was shown on."""

    allocation: Allocation
    access: ArmAccess


def _reader(user: Any) -> dict[str, str]:
    """Who read, as they are named at this moment: a later rename does not rewrite the trail."""
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    if not full_name and hasattr(user, "display_name"):
        full_name = user.display_name()
    return {"username": user.get_username(), "full_name": full_name}


def _read(
    *,
    user: Any,
    participant_id: int,
    trial_id: int,
    access: ArmAccess,
    channel: str,
    path: str,
    now: datetime,
) -> AllocationRead:
    return AllocationRead(
        trial_id=trial_id,
        participant_id=participant_id,
        user=user,
        ground=access.ground,
        dsmb_release=access.release,
        channel=channel,
        path=path[:PATH_LENGTH],
        at=now,
        **_reader(user),
    )


def arm_read_record(
    *,
    user: Any,
    participant: Participant,
    access: ArmAccess,
    channel: str,
    path: str = "",
    now: datetime,
) -> AllocationRead:
    """Record that `user` was shown the arm of `participant` on `access`'s ground."""
    read = _read(
        user=user,
        participant_id=participant.pk,
        trial_id=participant.trial_id,
        access=access,
        channel=channel,
        path=path,
        now=now,
    )
    # One INSERT and nothing more: the values come from the gate and the code, and the
    # database's check constraints hold the ground and channel to their known values.
    read.save()
    return read


def arm_reads_record(
    *,
    user: Any,
    trial: Trial,
    participants: QuerySet[Participant],
    access: ArmAccess,
    channel: str,
    path: str = "",
    now: datetime,
) -> int:
    """Record one read per participant (an unblinded export shows every arm at once): a
    bulk insert, a thousand rows a statement. Returns how many were recorded."""
    ids = list(participants.order_by("pk").values_list("pk", flat=True))
    common = {"user": user, "trial_id": trial.pk, "access": access, "channel": channel}
    with transaction.atomic():
        AllocationRead.objects.bulk_create(
            (_read(participant_id=pk, path=path, now=now, **common) for pk in ids),
            batch_size=BULK_BATCH,
        )
    return len(ids)


def allocation_read(
    *, user: Any, participant: Participant, channel: str, path: str = "", now: datetime
) -> ArmRead:
    """The arm of `participant` for a reader the gate lets through, recorded in the same
    transaction; everyone else gets PermissionDeniedError and nothing is recorded."""
    access = require_arm_access(user, participant, now=now)
    allocation = participant_arm(participant)
    with transaction.atomic():
        arm_read_record(
            user=user, participant=participant, access=access, channel=channel, path=path, now=now
        )
    return ArmRead(allocation=allocation, access=access)


# DSMB releases ------------------------------------------------------------------------------


def dsmb_release_grant(
    *,
    actor: Any,
    trial: Trial,
    recipient: Any,
    reason: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> DsmbRelease:
    """Grant `recipient` (an unblinded statistician of `trial`) the arms before trial lock:
    unblinded exports and every participant's allocation, while the release is in force.

    Only a trial administrator of the trial grants it: the role that grants access to people
    also grants this access to data. The reason (e.g. the DSMB meeting it serves) is required
    and stored on the release and its history record.
    """
    if not may_grant_release(actor, trial):
        raise PermissionDeniedError(
            "Only a trial administrator of this trial grants DSMB releases."
        )
    if not reason.strip():
        raise DomainError("Give the reason for the release.", fields={"reason": ["Required."]})
    if Role.UNBLINDED_STATISTICIAN not in user_roles(recipient, trial):
        raise DomainError(
            "A DSMB release is granted only to an unblinded statistician of this trial.",
            fields={"recipient": ["Not an unblinded statistician of this trial."]},
        )
    if expires_at is not None and expires_at <= now:
        raise DomainError(
            "The release must expire after it is granted.",
            fields={"expires_at": ["Choose a later instant."]},
        )
    with transaction.atomic():
        return audited_save(
            DsmbRelease(
                trial=trial,
                recipient=recipient,
                reason=reason.strip(),
                granted_by=actor,
                granted_at=now,
                expires_at=expires_at,
            ),
            actor=actor,
            reason=reason,
        )


def dsmb_release_revoke(
    *, actor: Any, release: DsmbRelease, reason: str, now: datetime
) -> DsmbRelease:
    """End a release before it expires: from `now` its recipient sees no arm on its ground.
    Exports already made keep naming it."""
    if not may_grant_release(actor, release.trial):
        raise PermissionDeniedError(
            "Only a trial administrator of this trial revokes DSMB releases."
        )
    if not reason.strip():
        raise DomainError("Give the reason for revoking.", fields={"reason": ["Required."]})
    with transaction.atomic():
        locked = DsmbRelease.objects.select_for_update().get(pk=release.pk)
        if locked.revoked_at is not None:
            raise InvalidTransitionError("This DSMB release is already revoked.")
        locked.revoked_at, locked.revoked_by, locked.revoke_reason = now, actor, reason.strip()
        return audited_save(locked, actor=actor, reason=reason)

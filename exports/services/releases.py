"""DSMB releases: a trial administrator lets one unblinded statistician export before lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from ecrf.access import Role, user_roles
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from exports.models import DsmbRelease
from exports.selectors import may_grant_release
from trials.models import Trial


def dsmb_release_grant(
    *,
    actor: Any,
    trial: Trial,
    recipient: Any,
    reason: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> DsmbRelease:
    """Grant `recipient` (an unblinded statistician of `trial`) unblinded exports before lock.

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
    """End a release before it expires; exports already made keep naming it."""
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

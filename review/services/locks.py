"""Locks: a data manager locks and unlocks a form, a participant, a site or the trial."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError
from review.models import Lock, LockLevel
from review.services.readiness import require_ready
from review.services.records import _record_ref
from trials.access import require_role
from trials.models import Participant, Site, Trial

LOCK_ROLES = frozenset({Role.DATA_MANAGER})


def _lock_target(
    level: str,
    trial: Trial,
    *,
    site: Site | None,
    participant: Participant | None,
    form_code: str,
    record: Any,
) -> dict[str, Any]:
    """The fields naming what a lock of `level` holds, checked to belong to `trial`."""
    target: dict[str, Any] = {}
    if level == LockLevel.SITE:
        if site is None or site.trial_id != trial.pk:
            raise DomainError("Name a site of this trial.")
        target = {"site": site}
    elif level == LockLevel.PARTICIPANT:
        if participant is None or participant.trial_id != trial.pk:
            raise DomainError("Name a participant of this trial.")
        target = {"participant": participant, "site_id": participant.site_id}
    elif level == LockLevel.FORM:
        if record is None or record.participant.trial_id != trial.pk:
            raise DomainError("Name a form of this trial.")
        target = {
            "participant_id": record.participant_id,
            "site_id": record.participant.site_id,
            "form_code": form_code,
            **_record_ref(record),
        }
    elif level != LockLevel.TRIAL:
        raise DomainError(
            "Lock a form, a participant, a site or the trial.", fields={"level": ["Unknown level."]}
        )
    return target


def lock_apply(
    *,
    actor: Any,
    level: str,
    trial: Trial,
    reason: str,
    now: datetime,
    site: Site | None = None,
    participant: Participant | None = None,
    form_code: str = "",
    record: Any = None,
) -> Lock:
    require_role(actor, trial=trial, roles=LOCK_ROLES, action=gettext_noop("lock data"))
    if not reason.strip():
        raise DomainError("Give the reason for the lock.", fields={"reason": ["Required."]})
    target = _lock_target(
        level, trial, site=site, participant=participant, form_code=form_code, record=record
    )
    # Data are locked complete, at every level: a site or trial lock (the database lock before
    # unblinding) covers every record of its participants.
    if level == LockLevel.FORM:
        require_ready(action="locked", participant=record.participant, record=record)
    elif level == LockLevel.PARTICIPANT:
        require_ready(action="locked", participant=participant)
    elif level == LockLevel.SITE:
        require_ready(action="locked", participants=Participant.objects.filter(site=site))
    elif level == LockLevel.TRIAL:
        require_ready(action="locked", participants=Participant.objects.filter(trial=trial))
    with transaction.atomic():
        same = Lock.objects.filter(
            trial=trial,
            level=level,
            unlocked_at__isnull=True,
            **{
                k: v
                for k, v in target.items()
                if k in ("site", "participant", "content_type", "object_id")
            },
        )
        if (existing := same.first()) is not None:
            return existing
        lock = audited_save(
            Lock(
                level=level,
                trial=trial,
                locked_by=actor,
                locked_at=now,
                reason=reason.strip(),
                **target,
            ),
            actor=actor,
            reason=reason,
        )
        if level == LockLevel.TRIAL:
            _mirror_trial_lock(trial.pk, actor=actor, reason="Trial database locked")
        return lock


def lock_release(*, actor: Any, lock: Lock, reason: str, now: datetime) -> Lock:
    require_role(actor, trial=lock.trial, roles=LOCK_ROLES, action=gettext_noop("unlock data"))
    if not reason.strip():
        raise DomainError("Give the reason for unlocking.", fields={"reason": ["Required."]})
    with transaction.atomic():
        locked = Lock.objects.select_for_update().get(pk=lock.pk)
        if locked.unlocked_at is not None:
            raise InvalidTransitionError("This lock is already released.")
        locked.unlocked_by, locked.unlocked_at, locked.unlock_reason = actor, now, reason.strip()
        released = audited_save(locked, actor=actor, reason=reason)
        if locked.level == LockLevel.TRIAL:
            _mirror_trial_lock(locked.trial_id, actor=actor, reason="Trial database unlocked")
        return released


def _mirror_trial_lock(trial_id: int, *, actor: Any, reason: str) -> None:
    """Copy the trial's lock state onto `Trial.locked_at`, in the caller's transaction: the
    blinding gate (in trials, below review) reads it there. The earliest active trial lock
    counts; none leaves it empty. The lock's own history holds the reason."""
    trial = Trial.objects.select_for_update().get(pk=trial_id)
    since = (
        Lock.objects.filter(trial_id=trial_id, level=LockLevel.TRIAL, unlocked_at__isnull=True)
        .order_by("locked_at")
        .values_list("locked_at", flat=True)
        .first()
    )
    if trial.locked_at != since:
        trial.locked_at = since
        audited_save(trial, actor=actor, reason=reason, update_fields=["locked_at"])


def trial_is_locked(trial: Trial) -> bool:
    return Lock.objects.filter(
        trial=trial, level=LockLevel.TRIAL, unlocked_at__isnull=True
    ).exists()

"""Writes for memberships: granting and ending roles in a trial."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ecrf.access import is_trial_admin
from ecrf.audit import audited_save
from ecrf.errors import PermissionDeniedError
from trials.models import Membership, Site, Trial


def membership_grant(
    *, actor: Any, user: Any, trial: Trial, role: str, site: Site | None = None
) -> Membership:
    if not actor.is_system and not is_trial_admin(actor):
        raise PermissionDeniedError("Only a trial administrator manages memberships.")
    with transaction.atomic():
        existing = Membership.objects.active().filter(user=user, trial=trial, site=site, role=role)
        if (found := existing.first()) is not None:
            return found
        return audited_save(Membership(user=user, trial=trial, site=site, role=role), actor=actor)


def membership_end(*, actor: Any, membership: Membership, reason: str) -> Membership:
    if not actor.is_system and not is_trial_admin(actor):
        raise PermissionDeniedError("Only a trial administrator manages memberships.")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.ended_at is not None:
            return locked
        locked.ended_at = timezone.now()
        return audited_save(locked, actor=actor, reason=reason)

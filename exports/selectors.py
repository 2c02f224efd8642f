"""Reads for exports: who may export what, and the exports and releases a user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from ecrf.access import Role, active_memberships, user_roles
from ecrf.errors import NotFoundError
from exports.models import DsmbRelease, Export
from review.services import trial_is_locked
from trials.models import Trial

EXPORT_ROLES = frozenset({Role.STATISTICIAN, Role.UNBLINDED_STATISTICIAN})
RELEASE_GRANTER_ROLES = frozenset({Role.TRIAL_ADMIN})


def exports_root() -> Path:
    """Where export files live: settings.EXPORTS_DIR (`exports/` in the var dir by default)."""
    return Path(settings.EXPORTS_DIR)


@dataclass(frozen=True)
class ExportRights:
    """What one person may export from one trial now, and why not when they may not."""

    blinded: bool
    unblinded_role: bool
    trial_locked: bool
    release: DsmbRelease | None

    @property
    def unblinded(self) -> bool:
        return self.unblinded_role and (self.trial_locked or self.release is not None)

    def allows(self, *, blinded: bool) -> bool:
        return self.blinded if blinded else self.unblinded


def active_release(user: Any, trial: Trial, *, now: datetime) -> DsmbRelease | None:
    """The user's DSMB release for `trial` in force at `now`, the latest granted first."""
    if user is None or not getattr(user, "pk", None):
        return None
    return (
        DsmbRelease.objects.filter(
            trial=trial, recipient=user, revoked_at__isnull=True, granted_at__lte=now
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-granted_at", "-pk")
        .first()
    )


def export_rights(user: Any, trial: Trial, *, now: datetime) -> ExportRights:
    """Blinded exports: any statistician role (or the system actor). Unblinded exports: the
    unblinded statistician, once the trial is locked or while a DSMB release names them."""
    if getattr(user, "is_system", False):
        return ExportRights(blinded=True, unblinded_role=False, trial_locked=False, release=None)
    roles = user_roles(user, trial) & EXPORT_ROLES
    unblinded_role = Role.UNBLINDED_STATISTICIAN in roles
    locked = unblinded_role and trial_is_locked(trial)
    release = active_release(user, trial, now=now) if unblinded_role and not locked else None
    return ExportRights(
        blinded=bool(roles), unblinded_role=unblinded_role, trial_locked=locked, release=release
    )


def export_list(
    user: Any, *, trial: Trial | None = None, status: str | None = None
) -> QuerySet[Export]:
    """Exports of the trials where the user holds a statistician role, newest first; unblinded
    exports only for unblinded statisticians, so a blinded user never learns of them."""
    memberships = active_memberships(user).filter(role__in=EXPORT_ROLES)
    if trial is not None:
        memberships = memberships.filter(trial=trial)
    condition = Q(pk__in=[])
    for trial_id, role in memberships.values_list("trial_id", "role"):
        if role == Role.UNBLINDED_STATISTICIAN:
            condition |= Q(trial_id=trial_id)
        else:
            condition |= Q(trial_id=trial_id, blinded=True)
    rows = Export.objects.filter(condition)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("trial", "protocol_version", "requested_by").order_by(
        "-created_at", "-pk"
    )


def export_get(user: Any, pk: Any) -> Export:
    """One export the user may see; any other does not exist for them."""
    export = export_list(user).filter(pk=pk).first()
    if export is None:
        raise NotFoundError("No such export.")
    return export


def release_list(user: Any, *, trial: Trial | None = None) -> QuerySet[DsmbRelease]:
    """DSMB releases: all of a trial for its administrators, one's own for a recipient."""
    admin_trials = active_memberships(user).filter(role__in=RELEASE_GRANTER_ROLES)
    if trial is not None:
        admin_trials = admin_trials.filter(trial=trial)
    rows = DsmbRelease.objects.filter(
        Q(trial_id__in=admin_trials.values("trial_id")) | Q(recipient_id=getattr(user, "pk", None))
    )
    if trial is not None:
        rows = rows.filter(trial=trial)
    return rows.select_related("trial", "recipient", "granted_by", "revoked_by")


def release_get(user: Any, pk: Any) -> DsmbRelease:
    release = release_list(user).filter(pk=pk).first()
    if release is None:
        raise NotFoundError("No such DSMB release.")
    return release


def may_grant_release(user: Any, trial: Trial) -> bool:
    if getattr(user, "is_system", False):
        return True
    return bool(user_roles(user, trial) & RELEASE_GRANTER_ROLES)

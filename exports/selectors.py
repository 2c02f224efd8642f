"""Reads for exports: who may export what (by the trials blinding gate), and which exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from ecrf.access import Role
from ecrf.errors import NotFoundError
from exports.models import Export
from trials.access import active_memberships, user_roles
from trials.blinding import ArmAccess, trial_unblinding
from trials.models import ArmGround, DsmbRelease, Trial

EXPORT_ROLES = frozenset({Role.STATISTICIAN, Role.UNBLINDED_STATISTICIAN})


def exports_root() -> Path:
    """Where export files live: settings.EXPORTS_DIR (`exports/` in the var dir by default)."""
    return Path(settings.EXPORTS_DIR)


@dataclass(frozen=True)
class ExportRights:
    """What one person may export from one trial now, and why not when they may not."""

    blinded: bool
    unblinded_role: bool
    # The blinding gate's trial-wide ground (trial lock or DSMB release), None without one.
    access: ArmAccess | None = None

    @property
    def trial_locked(self) -> bool:
        return self.access is not None and self.access.ground == ArmGround.TRIAL_LOCK

    @property
    def release(self) -> DsmbRelease | None:
        return self.access.release if self.access is not None else None

    @property
    def unblinded(self) -> bool:
        return self.unblinded_role and self.access is not None

    def allows(self, *, blinded: bool) -> bool:
        return self.blinded if blinded else self.unblinded


def export_rights(user: Any, trial: Trial, *, now: datetime) -> ExportRights:
    """Blinded exports: any statistician role (or the system actor). Unblinded exports: on the
    blinding gate's rule for an unblinded statistician (trial lock, or a DSMB release in force
    naming them), the same rule that opens each participant's arm to them."""
    if getattr(user, "is_system", False):
        return ExportRights(blinded=True, unblinded_role=False)
    roles = user_roles(user, trial) & EXPORT_ROLES
    unblinded_role = Role.UNBLINDED_STATISTICIAN in roles
    access = trial_unblinding(user, trial, now=now) if unblinded_role else None
    return ExportRights(blinded=bool(roles), unblinded_role=unblinded_role, access=access)


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

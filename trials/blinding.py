"""The one gate to a participant's arm: who may see it, and on which ground."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from ecrf.access import Role
from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError
from trials.access import active_memberships, user_roles
from trials.definitions import definition_of
from trials.models import (
    AllocationRead,
    AllocationSlot,
    ArmGround,
    DsmbRelease,
    Participant,
    Trial,
)

# The roles that can hold a ground at all; every other role is refused without more queries.
GATED_ROLES = frozenset({Role.PHARMACIST, Role.UNBLINDED_STATISTICIAN, Role.INVESTIGATOR})


@dataclass(frozen=True)
class ArmAccess:
    """Why one person may see an arm now; `release` names the DSMB release it rests on."""

    ground: str
    release: DsmbRelease | None = None

    @property
    def ground_label(self) -> str:
        return str(ArmGround(self.ground).label)


@dataclass(frozen=True)
class Allocation:
    """The arm of one participant; only ever built after the gate let the reader through."""

    arm_code: str
    arm_name: str


def _is_person(user: Any) -> bool:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return authenticated and not getattr(user, "is_system", False)


def active_release(user: Any, trial: Trial | int, *, now: datetime) -> DsmbRelease | None:
    """The user's DSMB release for `trial` (or its id) in force at `now`, the latest granted
    first."""
    if user is None or not getattr(user, "pk", None):
        return None
    trial_id = trial.pk if isinstance(trial, Trial) else trial
    return (
        DsmbRelease.objects.filter(
            trial_id=trial_id, recipient_id=user.pk, revoked_at__isnull=True, granted_at__lte=now
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-granted_at", "-pk")
        .first()
    )


def _statistician_access(user: Any, trial_id: int, *, now: datetime) -> ArmAccess | None:
    # Read from the database, not from a trial object the caller may hold from before an
    # unlock: a stale lock must never open an arm.
    if Trial.objects.filter(pk=trial_id, locked_at__isnull=False).exists():
        return ArmAccess(ArmGround.TRIAL_LOCK)
    release = active_release(user, trial_id, now=now)
    if release is not None:
        return ArmAccess(ArmGround.DSMB_RELEASE, release)
    return None


def trial_unblinding(user: Any, trial: Trial, *, now: datetime) -> ArmAccess | None:
    """The trial-wide ground of an unblinded statistician of `trial`: the trial lock, else a
    DSMB release in force naming them. None for anyone else. Unblinded exports follow it."""
    if not _is_person(user):
        return None
    held = active_memberships(user).filter(trial=trial, role=Role.UNBLINDED_STATISTICIAN)
    if not held.exists():
        return None
    return _statistician_access(user, trial.pk, now=now)


def arm_access(user: Any, participant: Participant, *, now: datetime) -> ArmAccess | None:
    """On which ground `user` may see the arm of `participant` at `now`, or None.

    Every path that can show an arm asks here: the allocation API and page, the
    allocation-revealing fields of forms (their data, history and audit trail) and unblinded
    exports (through `trial_unblinding`, the same rule). The grounds, and nothing else:

    - pharmacy: a pharmacist at the participant's site, who prepares the product;
    - trial_lock: an unblinded statistician of the trial once its database is locked;
    - dsmb_release: an unblinded statistician named by a DSMB release in force;
    - emergency: an investigator at the participant's site once the participant was
      unblinded in an emergency (by any investigator of that site: the treating team
      shares what one of them learnt).

    Everyone else, platform operators included, is refused. One query for everyone without
    a gated role in the trial (blinded users, the common case); one or two more for an
    unblinded statistician.
    """
    if not _is_person(user):
        return None
    memberships = set(
        active_memberships(user)
        .filter(trial_id=participant.trial_id, role__in=GATED_ROLES)
        .values_list("role", "site_id")
    )
    at_site = {role for role, site_id in memberships if site_id == participant.site_id}
    if Role.PHARMACIST in at_site:
        return ArmAccess(ArmGround.PHARMACY)
    if any(role == Role.UNBLINDED_STATISTICIAN for role, _ in memberships):
        access = _statistician_access(user, participant.trial_id, now=now)
        if access is not None:
            return access
    # The unblinding mark is never cleared, so a participant object read earlier in the
    # request can only err towards refusing.
    if Role.INVESTIGATOR in at_site and participant.unblinded_at is not None:
        return ArmAccess(ArmGround.EMERGENCY)
    return None


def require_arm_access(user: Any, participant: Participant, *, now: datetime) -> ArmAccess:
    """The ground on which `user` may see the arm, or PermissionDeniedError saying why not."""
    access = arm_access(user, participant, now=now)
    if access is not None:
        return access
    held = active_memberships(user).filter(
        trial_id=participant.trial_id, role=Role.UNBLINDED_STATISTICIAN
    )
    if _is_person(user) and held.exists():
        raise PermissionDeniedError(
            "The allocation is open to an unblinded statistician only after the trial is "
            "locked, or under a DSMB release granted to them by a trial administrator."
        )
    raise PermissionDeniedError("Your role is blinded to allocation.")


def participant_arm(participant: Participant) -> Allocation:
    """The arm of `participant`, read without any check: callers pass the gate first."""
    definition = definition_of(participant.protocol_version)
    code = (
        AllocationSlot.objects.filter(participant=participant)
        .values_list("arm_code", flat=True)
        .first()
    )
    if code is not None:
        try:
            return Allocation(arm_code=code, arm_name=definition.arm(code).name)
        except KeyError:
            return Allocation(arm_code=code, arm_name=code)
    # Open-label dose escalation: the "allocation" is the cohort; its stage has one arm.
    if participant.cohort is not None:
        stage = definition.stage(participant.cohort.stage_code)
        arm = definition.arm(stage.arms[0])
        return Allocation(arm_code=arm.code, arm_name=f"{arm.name} ({participant.cohort.name})")
    raise DomainError(f"{participant.identifier} has no allocation.")


def allocated_participants(trial: Trial, *, as_of: datetime) -> QuerySet[Participant]:
    """The participants of `trial` whose allocation (a concealed slot, or an open-label
    cohort) was given by `as_of`: those whose arm an unblinded export as of then shows."""
    slotted = AllocationSlot.objects.filter(
        allocation_list__trial=trial, participant__isnull=False, assigned_at__lte=as_of
    ).values("participant_id")
    return Participant.objects.filter(trial=trial).filter(
        Q(pk__in=slotted) | Q(cohort__isnull=False, randomized_at__lte=as_of)
    )


# DSMB releases and the record of reads --------------------------------------------------------

RELEASE_GRANTER_ROLES = frozenset({Role.TRIAL_ADMIN})
# Who follows the record of arm reads: those who answer for the trial's conduct and safety.
READ_AUDITOR_ROLES = frozenset({Role.TRIAL_ADMIN, Role.MEDICAL_MONITOR})


def may_grant_release(user: Any, trial: Trial) -> bool:
    if getattr(user, "is_system", False):
        return True
    return bool(user_roles(user, trial) & RELEASE_GRANTER_ROLES)


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


def allocation_read_list(
    user: Any,
    trial: Trial,
    *,
    participant: Any = None,
    reader: str | None = None,
    ground: str | None = None,
) -> QuerySet[AllocationRead]:
    """Every read of an arm in `trial`, newest first, for its trial administrators and medical
    monitors; anyone else is refused. Filters: participant id, reader's username, ground."""
    if not user_roles(user, trial) & READ_AUDITOR_ROLES:
        raise PermissionDeniedError(
            "Only trial administrators and medical monitors follow the allocation reads."
        )
    rows = AllocationRead.objects.filter(trial=trial)
    if participant is not None:
        rows = rows.filter(participant_id=participant)
    if reader:
        rows = rows.filter(username=reader)
    if ground:
        rows = rows.filter(ground=ground)
    return rows.select_related("participant").order_by("-at", "-pk")

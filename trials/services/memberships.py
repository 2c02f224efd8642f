"""Writes for a trial's staff: roles granted, approved by a second person, ended; invitations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.services import invitation_resend, user_deactivate, user_invite
from ecrf.access import UNBLINDED_ROLES, Role
from ecrf.audit import audited_save
from ecrf.errors import ConflictError, DomainError, InvalidTransitionError, PermissionDeniedError
from trials.models import Membership, RoleGrantRequest, RoleRequestStatus, Site, Trial
from trials.staff_selectors import may_manage_staff

# Roles that reveal the arm, hand out access or sign casebooks (an e-signature must be the
# investigator's own): a second person must approve them.
APPROVAL_ROLES = frozenset(UNBLINDED_ROLES | {Role.TRIAL_ADMIN, Role.INVESTIGATOR})
# As much as the reason forms of the pages take.
REASON_MAX_LENGTH = 2000


def needs_second_person(*, actor: Any, user: Any, role: str) -> bool:
    """Whether granting `role` to `user` by `actor` waits for someone else's approval.

    Jobs and commands (the system actor) grant directly; a person does so for ordinary roles
    given to somebody else.
    """
    if getattr(actor, "is_system", False):
        return False
    return role in APPROVAL_ROLES or user.pk == actor.pk


def membership_grant(
    *,
    actor: Any,
    user: Any,
    trial: Trial,
    role: str,
    site: Site | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Membership | RoleGrantRequest:
    """Give `user` `role` in `trial` (at `site`), or file the request a second person approves.

    Returns the membership when the role takes effect now (or was already held), else the
    pending request. A person must give a reason; the system actor's grants are first entries.
    """
    _require_manager(actor, trial)
    if not getattr(actor, "is_system", False):
        reason = _require_reason(reason)
    _check_grantee(user)
    if role not in Role.values:
        raise DomainError("Unknown role.", fields={"role": ["Choose a role."]})
    now = now or timezone.now()
    with transaction.atomic():
        _lock_trial(trial)
        held = Membership.objects.filter(
            user=user, trial=trial, site=site, role=role, ended_at__isnull=True
        ).first()
        if held is not None:
            return held
        if needs_second_person(actor=actor, user=user, role=role):
            return _request_file(
                actor=actor, user=user, trial=trial, role=role, site=site, reason=reason, now=now
            )
        return _save(Membership(user=user, trial=trial, site=site, role=role), actor, reason)


def _request_file(
    *, actor: Any, user: Any, trial: Trial, role: str, site: Site | None, reason: str, now: datetime
) -> RoleGrantRequest:
    pending = RoleGrantRequest.objects.filter(
        user=user, trial=trial, site=site, role=role, status=RoleRequestStatus.PENDING
    )
    if pending.exists():
        raise ConflictError("A request for this role is already awaiting approval.")
    request = RoleGrantRequest(
        user=user,
        trial=trial,
        site=site,
        role=role,
        reason=reason,
        requested_by=actor,
        requested_at=now,
    )
    return _save(request, actor, reason)


def role_request_approve(
    *, actor: Any, role_request: RoleGrantRequest, reason: str, now: datetime
) -> RoleGrantRequest:
    """Approve a pending request: the membership it asks for is created now.

    The approver is another trial administrator of the trial or a platform operator: never
    the requester, never the person receiving the role, never a job.
    """
    _require_manager(actor, role_request.trial)
    if getattr(actor, "is_system", False):
        raise PermissionDeniedError("A role that needs a second person is approved by a person.")
    reason = _require_reason(reason)
    with transaction.atomic():
        _lock_trial(role_request.trial)
        locked = RoleGrantRequest.objects.select_for_update().get(pk=role_request.pk)
        if actor.pk == locked.requested_by_id:
            raise PermissionDeniedError(
                "You asked for this role: another administrator must approve it."
            )
        if actor.pk == locked.user_id:
            raise PermissionDeniedError(
                "This role is for you: another administrator must approve it."
            )
        _require_pending(locked)
        _check_grantee(locked.user)
        held = {
            "user": locked.user,
            "trial": locked.trial,
            "site": locked.site,
            "role": locked.role,
        }
        membership = Membership.objects.filter(**held, ended_at__isnull=True).first()
        if membership is None:
            membership = _save(
                Membership(**held),
                actor,
                reason,
            )
        locked.status = RoleRequestStatus.APPROVED
        locked.decided_by, locked.decided_at, locked.decision_reason = actor, now, reason
        locked.membership = membership
        return _save(locked, actor, reason)


def role_request_reject(
    *, actor: Any, role_request: RoleGrantRequest, reason: str, now: datetime
) -> RoleGrantRequest:
    """Turn a pending request down; its requester may withdraw it this way too."""
    _require_manager(actor, role_request.trial)
    reason = _require_reason(reason)
    with transaction.atomic():
        locked = RoleGrantRequest.objects.select_for_update().get(pk=role_request.pk)
        _require_pending(locked)
        return _decide_rejected(locked, actor=actor, reason=reason, now=now)


def membership_end(
    *, actor: Any, membership: Membership, reason: str, now: datetime | None = None
) -> Membership:
    """End a role; the row and its history stay. Ending an ended role changes nothing."""
    _require_manager(actor, membership.trial)
    reason = _require_reason(reason)
    if (
        not getattr(actor, "is_system", False)
        and membership.user_id == actor.pk
        and membership.role == Role.TRIAL_ADMIN
    ):
        raise PermissionDeniedError(
            "You cannot end your own administrator role: another administrator must."
        )
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.ended_at is not None:
            return locked
        locked.ended_at = now or timezone.now()
        return _save(locked, actor, reason)


@dataclass(frozen=True)
class Removal:
    ended: list[Membership]
    deactivated: bool


def staff_remove(*, actor: Any, user: Any, trial: Trial, reason: str, now: datetime) -> Removal:
    """Take `user` out of `trial`: every role of theirs there ends and their pending requests
    are turned down. An account left with no role in any trial is deactivated (its sessions and
    API tokens stop at once), unless it belongs to an operator or a job.
    """
    _require_manager(actor, trial)
    reason = _require_reason(reason)
    if not getattr(actor, "is_system", False) and user.pk == actor.pk:
        raise PermissionDeniedError("You cannot remove yourself: another administrator must.")
    with transaction.atomic():
        _lock_trial(trial)
        held = list(
            Membership.objects.select_for_update()
            .filter(user=user, trial=trial, ended_at__isnull=True)
            .order_by("pk")
        )
        if not held:
            raise InvalidTransitionError("This person holds no role in this trial.")
        for membership in held:
            membership.ended_at = now
            _save(membership, actor, reason)
        pending = RoleGrantRequest.objects.select_for_update().filter(
            user=user, trial=trial, status=RoleRequestStatus.PENDING
        )
        for request in pending:
            _decide_rejected(request, actor=actor, reason=reason, now=now)
        keeps_account = (
            user.is_superuser
            or user.is_staff
            or user.is_system
            or Membership.objects.filter(user=user, ended_at__isnull=True).exists()
        )
        if not keeps_account:
            user_deactivate(actor=actor, user=user, reason=reason, now=now)
        return Removal(ended=held, deactivated=not keeps_account)


@dataclass(frozen=True)
class Invitation:
    user: Any
    grant: Membership | RoleGrantRequest


def staff_invite(
    *,
    actor: Any,
    trial: Trial,
    username: str,
    email: str,
    role: str,
    site: Site | None = None,
    first_name: str = "",
    last_name: str = "",
    printed_name: str = "",
    language: str = "en",
    reason: str,
    site_url: str,
    now: datetime,
) -> Invitation:
    """Create an account for a new member of `trial`, with their first role (or the request
    for it), and e-mail them a one-time link to choose their password."""
    _require_manager(actor, trial)
    reason = _require_reason(reason)
    with transaction.atomic():
        user = user_invite(
            actor=actor,
            username=username,
            email=email,
            first_name=first_name,
            last_name=last_name,
            printed_name=printed_name,
            language=language,
            reason=reason,
            invited_to=trial.short_title or trial.code,
            site_url=site_url,
            now=now,
        )
        grant = membership_grant(
            actor=actor, user=user, trial=trial, role=role, site=site, reason=reason, now=now
        )
        return Invitation(user=user, grant=grant)


def staff_invitation_resend(*, actor: Any, user: Any, trial: Trial, site_url: str) -> None:
    """E-mail a new one-time link to a member of `trial` who has not chosen a password yet
    (the first one expired or was lost). It goes to the address on the account, which no
    trial administrator can change."""
    _require_manager(actor, trial)
    if not Membership.objects.filter(user=user, trial=trial, ended_at__isnull=True).exists():
        raise InvalidTransitionError("This person holds no role in this trial.")
    invitation_resend(
        user=user,
        inviter=actor.display_name(),
        invited_to=trial.short_title or trial.code,
        site_url=site_url,
    )


def _decide_rejected(
    request: RoleGrantRequest, *, actor: Any, reason: str, now: datetime
) -> RoleGrantRequest:
    request.status = RoleRequestStatus.REJECTED
    request.decided_by, request.decided_at, request.decision_reason = actor, now, reason
    return _save(request, actor, reason)


def _require_manager(actor: Any, trial: Trial) -> None:
    if not may_manage_staff(actor, trial):
        raise PermissionDeniedError("Only a trial administrator of this trial manages its staff.")


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DomainError("Give the reason for the change.", fields={"reason": ["Required."]})
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            f"Keep the reason within {REASON_MAX_LENGTH} characters.",
            fields={"reason": [f"At most {REASON_MAX_LENGTH} characters."]},
        )
    return reason


def _require_pending(request: RoleGrantRequest) -> None:
    if request.status != RoleRequestStatus.PENDING:
        raise InvalidTransitionError(
            f"This request was already {request.get_status_display().lower()}."
        )


def _check_grantee(user: Any) -> None:
    if getattr(user, "is_system", False):
        raise DomainError("A job account is given no role.", fields={"username": ["Not a person."]})
    if not user.is_active:
        raise DomainError(
            "This account is deactivated; a platform operator must reactivate it first.",
            fields={"username": ["Deactivated account."]},
        )


def _lock_trial(trial: Trial) -> None:
    # Staff changes of one trial run one at a time: checks such as "a request is already
    # pending" then hold until the change is written.
    Trial.objects.select_for_update().filter(pk=trial.pk).first()


def _save(instance: models.Model, actor: Any, reason: str) -> Any:
    try:
        return audited_save(instance, actor=actor, reason=reason)
    except DjangoValidationError as error:
        raise DomainError.from_validation_error(error) from None

"""Reads for managing a trial's staff: who may, the members, role requests and their history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from ecrf.access import Role, is_operator
from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError
from trials.access import active_memberships, user_roles
from trials.models import Membership, RoleGrantRequest, RoleRequestStatus, Site, Trial


def may_manage_staff(user: Any, trial: Trial) -> bool:
    """Only an active trial administrator of `trial`, an operator or the system actor may."""
    if getattr(user, "is_system", False):
        return True
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return is_operator(user) or Role.TRIAL_ADMIN in user_roles(user, trial)


def staff_trial_get(user: Any, code: str) -> Trial:
    """The trial whose staff `user` manages.

    A trial the user holds no role in does not exist for them (404); one where they hold
    another role is refused (403).
    """
    trials = Trial.objects.filter(code=code)
    if not is_operator(user):
        trials = trials.filter(pk__in=active_memberships(user).values("trial_id"))
    trial = trials.first()
    if trial is None:
        raise NotFoundError("No such trial.")
    if not may_manage_staff(user, trial):
        raise PermissionDeniedError("Only a trial administrator of this trial manages its staff.")
    return trial


def staff_members(trial: Trial) -> QuerySet[Membership]:
    """Memberships in force in `trial`: trial-wide roles first, then by site, role and name."""
    return (
        Membership.objects.filter(trial=trial, ended_at__isnull=True)
        .select_related("user", "site")
        .order_by(F("site__code").asc(nulls_first=True), "role", "user__username", "pk")
    )


def staff_membership_get(trial: Trial, pk: Any) -> Membership:
    """One membership of `trial`; another trial's is not found."""
    membership = (
        Membership.objects.filter(trial=trial, pk=_key(pk)).select_related("user", "site").first()
    )
    if membership is None:
        raise NotFoundError("No such membership in this trial.")
    return membership


def staff_user_get(trial: Trial, pk: Any) -> User:
    """A person who holds or held a role in `trial`; anybody else is not found."""
    user = User.objects.filter(pk=_key(pk), memberships__trial=trial).distinct().first()
    if user is None:
        raise NotFoundError("No such person in this trial.")
    return user


def grantee_get(username: str) -> User:
    """The account a role is given to, by its username; job accounts are not people."""
    user = User.objects.filter(username=username.strip(), is_system=False).first()
    if user is None:
        raise DomainError(
            "No account has this username. To add someone new, invite them.",
            fields={"username": ["No account has this username."]},
        )
    return user


def staff_site_get(trial: Trial, code: str | None) -> Site | None:
    """A site of `trial` by its code; empty means all sites."""
    if not code:
        return None
    site = Site.objects.filter(trial=trial, code=code).first()
    if site is None:
        raise DomainError("No such site in this trial.", fields={"site": ["Unknown site."]})
    return site


def role_requests(trial: Trial, *, status: str | None = None) -> QuerySet[RoleGrantRequest]:
    rows = RoleGrantRequest.objects.filter(trial=trial)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("user", "site", "requested_by", "decided_by").order_by(
        "-requested_at", "-pk"
    )


def role_request_get(trial: Trial, pk: Any) -> RoleGrantRequest:
    found = role_requests(trial).filter(pk=_key(pk)).first()
    if found is None:
        raise NotFoundError("No such role request in this trial.")
    return found


@dataclass(frozen=True)
class StaffEvent:
    """One line of a trial's staff history, in words."""

    at: datetime
    actor: str
    person: str
    what: str
    role: str
    site: str
    reason: str


def staff_history(trial: Trial) -> list[StaffEvent]:
    """Every change to `trial`'s memberships and role requests, newest first.

    A trial's staff changes are counted in hundreds, not millions: both history tables are
    read whole and merged here.
    """
    events = [_membership_event(record) for record in _history(Membership, trial)]
    events += [_request_event(record) for record in _history(RoleGrantRequest, trial)]
    events += [_account_event(record) for record in _account_history(trial)]
    return sorted(events, key=lambda event: event.at, reverse=True)


def _account_history(trial: Trial) -> QuerySet[Any]:
    """Changes to the accounts of everyone who ever held a role in `trial`, by anyone (platform
    operators in the admin included)."""
    members = Membership.objects.filter(trial=trial).values("user_id")
    return User.history.filter(id__in=members).order_by("history_date", "history_id")


def _account_event(record: Any) -> StaffEvent:
    if record.history_type == "+":
        what = _("Account created")
    elif not record.is_active:
        what = _("Account closed")
    else:
        what = _("Account changed")
    full_name = record.printed_name or f"{record.first_name} {record.last_name}".strip()
    person = f"{full_name} ({record.username})"
    return StaffEvent(
        at=record.history_date,
        actor=record.history_actor() or "—",
        person=person,
        what=what,
        role="",
        site="",
        reason=record.history_change_reason or "",
    )


def _history(model: Any, trial: Trial) -> QuerySet[Any]:
    return model.history.filter(trial_id=trial.pk).select_related("user", "site")


def _person(user: Any) -> str:
    if user is None:
        return "—"
    return f"{user.display_name()} ({user.username})"


def _membership_event(record: Any) -> StaffEvent:
    if record.history_type == "+":
        what = _("Role granted")
    elif record.ended_at is not None:
        what = _("Role ended")
    else:
        what = _("Membership changed")
    return _event(record, what)


def _request_event(record: Any) -> StaffEvent:
    if record.history_type == "+":
        what = _("Role requested, awaiting a second person")
    elif record.status == RoleRequestStatus.APPROVED:
        what = _("Request approved")
    elif record.status == RoleRequestStatus.REJECTED:
        what = _("Request rejected")
    else:
        what = _("Request changed")
    return _event(record, what)


def _event(record: Any, what: str) -> StaffEvent:
    return StaffEvent(
        at=record.history_date,
        actor=record.history_actor() or "—",
        person=_person(record.user),
        what=what,
        role=str(Role(record.role).label) if record.role in Role.values else record.role,
        site=str(record.site) if record.site is not None else _("all sites"),
        reason=record.history_change_reason or "",
    )


def _key(pk: Any) -> int:
    """A row key, or 0 (which matches no row) for anything that cannot be one."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        return 0
    # Beyond a 64-bit key no row exists, and the database would refuse the number.
    return key if 0 < key < 2**63 else 0

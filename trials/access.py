"""Access by membership: what a user may read, the roles they hold, the check before a write."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from ecrf.errors import PermissionDeniedError
from trials.models import Membership

Q_ = TypeVar("Q_", bound=QuerySet[Any])
# (trial id, site id or None for all of the trial's sites) of each membership that counts.
Scope = list[tuple[int, int | None]]


def active_memberships(user: Any) -> QuerySet[Membership]:
    """The user's memberships in force, with trial and site loaded."""
    if user is None or not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.active().filter(user=user).select_related("trial", "site")


def holds_role(user: Any, roles: Iterable[str]) -> bool:
    """Whether `user` holds one of `roles` by a membership in force, in any trial."""
    return active_memberships(user).filter(role__in=roles).exists()


def membership_scope(user: Any, roles: Iterable[str] | None = None) -> Scope:
    """Where the user's memberships (in `roles`, if given) reach: one query, none when the
    request's memberships were read already (`memberships_read_once`)."""
    read = _memberships_read_once(user)
    if read is not None:
        wanted = None if roles is None else set(roles)
        return list(
            dict.fromkeys(
                (trial_id, site_id)
                for trial_id, site_id, role in read
                if wanted is None or role in wanted
            )
        )
    memberships = active_memberships(user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return list(memberships.values_list("trial_id", "site_id").distinct())


def scope_condition(scope: Scope, *, trial: str, site: str | None) -> Q:
    """Rows of the trials and sites in `scope`; `trial` and `site` are lookups to their ids
    (e.g. "participant__trial_id"), and `site=None` scopes by trial only."""
    condition = Q(pk__in=[])
    for trial_id, site_id in scope:
        if site_id is None or site is None:
            condition |= Q(**{trial: trial_id})
        else:
            condition |= Q(**{trial: trial_id, site: site_id})
    return condition


def scope_queryset(
    queryset: Q_,
    user: Any,
    *,
    trial_field: str = "trial",
    site_field: str | None = "site",
    roles: Iterable[str] | None = None,
) -> Q_:
    """Restrict `queryset` to rows of the trials and sites where `user` holds a membership.

    `trial_field` and `site_field` are lookups from the queryset's model to Trial and Site
    (e.g. "participant__trial"). `site_field=None` scopes by trial only. `roles` limits the
    memberships that count.
    """
    site = None if site_field is None else f"{site_field}_id"
    condition = scope_condition(membership_scope(user, roles), trial=f"{trial_field}_id", site=site)
    return queryset.filter(condition)


# The memberships in force read in this request, by user (trial id, site id or None, role),
# while `memberships_read_once` is in force.
_memberships_read: ContextVar[dict[Any, list[tuple[int, int | None, str]]] | None] = ContextVar(
    "memberships_read", default=None
)


@contextmanager
def memberships_read_once() -> Iterator[None]:
    """Within the block, the user's memberships in force are read once, with their roles, and
    where they reach (`membership_scope`) and the roles held in a trial and site (`user_roles`)
    are answered from that one read. For a request that asks both, more than once (which
    participants the user sees, may they read the form, may they enter its fields), and grants
    or ends no membership itself."""
    token = _memberships_read.set({})
    try:
        yield
    finally:
        _memberships_read.reset(token)


def _memberships_read_once(user: Any) -> list[tuple[int, int | None, str]] | None:
    """The user's memberships in force as `memberships_read_once` holds them (read on the first
    question), or None outside it."""
    read = _memberships_read.get()
    if read is None:
        return None
    key = getattr(user, "pk", None)
    if key not in read:
        read[key] = list(active_memberships(user).values_list("trial_id", "site_id", "role"))
    return read[key]


def user_roles(user: Any, trial: Any, site: Any = None) -> set[str]:
    """The roles `user` holds in `trial`, at `site` if given (all-site memberships count)."""
    read = _memberships_read_once(user)
    if read is not None:
        trial_id = getattr(trial, "pk", trial)
        site_id = getattr(site, "pk", site)
        return {
            role
            for held_trial, held_site, role in read
            if held_trial == trial_id and (site is None or held_site in (None, site_id))
        }
    memberships = active_memberships(user).filter(trial=trial)
    if site is not None:
        memberships = memberships.filter(Q(site=site) | Q(site__isnull=True))
    return set(memberships.values_list("role", flat=True))


def require_role(
    actor: Any, *, trial: Any, site: Any = None, roles: frozenset[str] | set[str], action: str
) -> str:
    """Return the role under which `actor` may do `action`, or raise PermissionDeniedError."""
    if getattr(actor, "is_system", False):
        return "system"
    held = user_roles(actor, trial, site) & set(roles)
    if not held:
        raise PermissionDeniedError(
            gettext("Your role does not allow you to %(action)s.") % {"action": gettext(action)}
        )
    return sorted(held)[0]

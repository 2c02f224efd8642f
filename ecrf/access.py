"""Roles, what each may do, and the one helper that scopes a queryset to a user's memberships."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

Q_ = TypeVar("Q_", bound=QuerySet[Any])


class Role(models.TextChoices):
    INVESTIGATOR = "investigator", _("Investigator")
    COORDINATOR = "coordinator", _("Study coordinator / nurse")
    PHARMACIST = "pharmacist", _("Pharmacist / cell-therapy unit")
    MONITOR = "monitor", _("Monitor (CRA)")
    DATA_MANAGER = "data_manager", _("Data manager")
    MEDICAL_MONITOR = "medical_monitor", _("Medical monitor / safety")
    STATISTICIAN = "statistician", _("Statistician (blinded)")
    UNBLINDED_STATISTICIAN = "unblinded_statistician", _("Statistician (unblinded) / DSMB")
    TRIAL_ADMIN = "trial_admin", _("Trial administrator")


# Roles that work at named sites; every other role works across all sites of a trial.
SITE_ROLES = frozenset({Role.INVESTIGATOR, Role.COORDINATOR, Role.PHARMACIST, Role.MONITOR})
SITE_STAFF_ROLES = frozenset({Role.INVESTIGATOR, Role.COORDINATOR})
# Roles that may come to see arms; whether one does, on which ground, is decided by the one
# gate in trials.blinding (site, trial lock, DSMB release, emergency unblinding), never here.
UNBLINDED_ROLES = frozenset({Role.PHARMACIST, Role.UNBLINDED_STATISTICIAN})
QUERY_OPENER_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER, Role.MEDICAL_MONITOR})
SPONSOR_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER, Role.MEDICAL_MONITOR, Role.TRIAL_ADMIN})

ROLE_ABILITIES: dict[str, tuple[Any, ...]] = {
    Role.INVESTIGATOR: (
        _("Register and follow participants at your site"),
        _("Enter and correct clinical data"),
        _("Answer data queries"),
        _("Sign forms and casebooks"),
        _("Request emergency unblinding"),
    ),
    Role.COORDINATOR: (
        _("Register and follow participants at your site"),
        _("Enter and correct clinical data"),
        _("Answer data queries"),
    ),
    Role.PHARMACIST: (_("Prepare the study product and record dosing"),),
    Role.MONITOR: (
        _("Review data at your assigned sites"),
        _("Verify source data"),
        _("Open, close and re-open queries"),
    ),
    Role.DATA_MANAGER: (
        # What the forms allow a data manager (their `editors` and `field_editors`); the
        # clinical data are corrected by the site, in answer to a query.
        _("Record and update protocol deviations"),
        _("Add dictionary codes to medications and adverse events"),
        _("Open, close and re-open queries"),
        _("Lock and unlock forms, participants and the trial"),
    ),
    Role.MEDICAL_MONITOR: (_("Assess serious adverse events"), _("Open queries")),
    Role.STATISTICIAN: (_("Export blinded datasets"),),
    Role.UNBLINDED_STATISTICIAN: (
        _("See the treatment allocation after trial lock or under a DSMB release"),
        _("Export unblinded datasets after trial lock"),
    ),
    Role.TRIAL_ADMIN: (
        _("Invite staff, and give or end their roles with a reason"),
        _("Approve the roles that need a second administrator"),
        _("Grant DSMB releases to unblinded statisticians"),
    ),
}


def active_memberships(user: Any) -> QuerySet[Any]:
    """The user's memberships in force, with trial and site loaded."""
    from trials.models import Membership

    if user is None or not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.active().filter(user=user).select_related("trial", "site")


def scope_queryset(
    queryset: Q_,
    user: Any,
    *,
    trial_field: str = "trial",
    site_field: str | None = "site",
    roles: frozenset[str] | set[str] | None = None,
) -> Q_:
    """Restrict `queryset` to rows of the trials and sites where `user` holds a membership.

    `trial_field` and `site_field` are lookups from the queryset's model to Trial and Site
    (e.g. "participant__trial"). `site_field=None` scopes by trial only. `roles` limits the
    memberships that count.
    """
    condition = Q(pk__in=[])
    memberships = active_memberships(user)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    for trial_id, site_id in memberships.values_list("trial_id", "site_id"):
        if site_id is None or site_field is None:
            condition |= Q(**{f"{trial_field}_id": trial_id})
        else:
            condition |= Q(**{f"{trial_field}_id": trial_id, f"{site_field}_id": site_id})
    return queryset.filter(condition)


def user_roles(user: Any, trial: Any, site: Any = None) -> set[str]:
    """The roles `user` holds in `trial`, at `site` if given (all-site memberships count)."""
    memberships = active_memberships(user).filter(trial=trial)
    if site is not None:
        memberships = memberships.filter(Q(site=site) | Q(site__isnull=True))
    return set(memberships.values_list("role", flat=True))


def is_operator(user: Any) -> bool:
    """A platform operator: an active superuser, created on the command line."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def require_role(
    actor: Any, *, trial: Any, site: Any = None, roles: frozenset[str] | set[str], action: str
) -> str:
    """Return the role under which `actor` may do `action`, or raise PermissionDeniedError."""
    from ecrf.errors import PermissionDeniedError

    if getattr(actor, "is_system", False):
        return "system"
    held = user_roles(actor, trial, site) & set(roles)
    if not held:
        raise PermissionDeniedError(f"Your role does not allow you to {action}.")
    return sorted(held)[0]

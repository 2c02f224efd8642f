"""Roles, the sets of roles an ability needs, what each role may do, who runs the platform."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INVESTIGATOR = "investigator", _("Investigator")
    COORDINATOR = "coordinator", _("Study coordinator / nurse")
    PHARMACIST = "pharmacist", _("Pharmacist / cell-therapy unit")
    MONITOR = "monitor", _("Monitor (CRA)")
    DATA_MANAGER = "data_manager", _("Data manager")
    MEDICAL_MONITOR = "medical_monitor", _("Medical monitor / safety")
    CODER = "coder", _("Medical coder")
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
# Who watches the SAE reporting clocks: the site for its own events, the sponsor for all.
SAE_CLOCK_ROLES = frozenset({*SITE_STAFF_ROLES, *QUERY_OPENER_ROLES})
# Who codes reported terms to the licensed dictionaries (MedDRA, WHODrug).
CODING_ROLES = frozenset({Role.CODER, Role.DATA_MANAGER})

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
    Role.CODER: (
        _("Code adverse events to MedDRA and medications to WHODrug"),
        _("Ask the site about a reported term that cannot be coded"),
    ),
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


def is_operator(user: Any) -> bool:
    """A platform operator: an active superuser, created on the command line."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)

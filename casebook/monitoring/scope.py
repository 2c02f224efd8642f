"""Who monitors, and the sites of a trial each person monitors (scope: trials.access)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from ecrf.access import QUERY_OPENER_ROLES
from ecrf.errors import NotFoundError, PermissionDeniedError
from trials.access import membership_scope
from trials.models import Site, Trial

# Who monitors sites: monitors at their assigned sites, data management and safety at every
# site of the trial. Site staff answer the findings and do not read them across sites.
MONITORING_ROLES = QUERY_OPENER_ROLES


def monitored_sites(user: Any, trial: Trial) -> list[Site]:
    """The sites of `trial` the user monitors, by code: two queries."""
    scope = [
        site_id
        for trial_id, site_id in membership_scope(user, MONITORING_ROLES)
        if trial_id == trial.pk
    ]
    if not scope:
        raise PermissionDeniedError(_("Your role in this trial does not include monitoring."))
    sites = Site.objects.filter(trial=trial).order_by("code")
    if None not in scope:
        sites = sites.filter(pk__in=[site_id for site_id in scope if site_id is not None])
    return list(sites)


def site_chosen(sites: list[Site], code: str) -> Site:
    """The site of `sites` with `code`; one outside them is not found, whether or not it
    exists."""
    for site in sites:
        if site.code == code:
            return site
    raise NotFoundError(_("No such site among those you monitor."))

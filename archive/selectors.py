"""Who may have a site's archive, the lock it is made under, and the archives of a site."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from archive.models import SiteArchive
from ecrf.access import Role
from ecrf.errors import NotFoundError, PermissionDeniedError
from review.models import Lock, LockLevel
from trials.access import active_memberships, user_roles
from trials.models import Site

# The investigator keeps the site's archive; nobody else starts or downloads it.
ARCHIVE_ROLE = Role.INVESTIGATOR


def is_site_investigator(user: Any, site: Site) -> bool:
    """An investigator at `site` itself: a trial-wide role is not the site's investigator."""
    if getattr(user, "is_system", False):
        return True
    return active_memberships(user).filter(site=site, role=ARCHIVE_ROLE).exists()


def site_lock(site: Site) -> Lock | None:
    """The active trial or site lock that holds every record of `site`: the earliest, since
    the data have not changed since it was applied. None when the data may still change."""
    return (
        Lock.objects.filter(trial_id=site.trial_id, unlocked_at__isnull=True)
        .filter(Q(level=LockLevel.TRIAL) | Q(level=LockLevel.SITE, site=site))
        .order_by("locked_at", "pk")
        .first()
    )


def site_archive_list(user: Any, site: Site) -> QuerySet[SiteArchive]:
    if not is_site_investigator(user, site):
        return SiteArchive.objects.none()
    return SiteArchive.objects.filter(site=site).select_related("site", "trial", "requested_by")


def site_archive_get(user: Any, pk: Any) -> SiteArchive:
    """An archive for the investigator of its site; anyone else of the trial at that site is
    refused, and anyone else is told there is no such archive."""
    archive = (
        SiteArchive.objects.select_related("site", "trial", "requested_by", "lock")
        .filter(pk=pk)
        .first()
    )
    if archive is None or not user_roles(user, archive.trial, archive.site):
        raise NotFoundError("No such archive.")
    if not is_site_investigator(user, archive.site):
        raise PermissionDeniedError("Only the investigator of the site may have its archive.")
    return archive

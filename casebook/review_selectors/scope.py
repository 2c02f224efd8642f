"""Who reads review data, and the filters every review selector shares (scope: trials.access)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from ecrf.access import SITE_STAFF_ROLES, Role
from review.models import (
    DataQuery,
)
from trials.models import Participant, Site

# Who reads queries and the review queue: site staff at their sites, monitors at their assigned
# sites, data management and safety at every site. Pharmacists and statisticians do not.
REVIEW_ROLES = frozenset({*SITE_STAFF_ROLES, Role.MONITOR, Role.DATA_MANAGER, Role.MEDICAL_MONITOR})


# Filters ------------------------------------------------------------------------------------


def _site_filter(site: Site | str | None, lookup: str) -> Q:
    if isinstance(site, Site):
        return Q(**{f"{lookup}_id": site.pk})
    if site:
        return Q(**{f"{lookup}__code": site})
    return Q()


def _participant_filter(participant: Participant | int | str | None, lookup: str) -> Q:
    """By object or id; a text that is not a number is a subject or screening number."""
    if isinstance(participant, Participant):
        return Q(**{f"{lookup}_id": participant.pk})
    if isinstance(participant, int) or (isinstance(participant, str) and participant.isdigit()):
        return Q(**{f"{lookup}_id": int(participant)})
    if participant:
        text = participant.strip()
        return Q(**{f"{lookup}__subject_id": text}) | Q(**{f"{lookup}__screening_number": text})
    return Q()


def age_days(query: DataQuery, now: datetime) -> int:
    """Whole days a query has been open: until it closed, or until `now`."""
    return max(((query.closed_at or now) - query.opened_at).days, 0)

"""Queries and locks a user may read."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from casebook.review_selectors.scope import (
    REVIEW_ROLES,
    _participant_filter,
    _site_filter,
)
from ecrf.access import (
    Role,
)
from ecrf.errors import NotFoundError
from review.models import (
    DataQuery,
    Lock,
    QueryMessage,
)
from trials.access import membership_scope, scope_condition
from trials.models import Participant, Site, Trial

# Queries ------------------------------------------------------------------------------------


def _queries(user: Any) -> QuerySet[DataQuery]:
    scope = membership_scope(user, REVIEW_ROLES)
    return DataQuery.objects.filter(
        scope_condition(scope, trial="trial_id", site="site_id")
    ).select_related("trial", "site", "participant", "opened_by")


def query_list(
    user: Any,
    *,
    status: str | None = None,
    trial: Trial | str | None = None,
    site: Site | str | None = None,
    participant: Participant | int | str | None = None,
) -> QuerySet[DataQuery]:
    """The queries the user may read, oldest first: site staff at their site, monitors at
    their assigned sites, data management and safety everywhere, other roles none.

    Two queries for any number of rows: the user's memberships, then the queries joined with
    trial, site, participant and opener (three with a paginator's count)."""
    queries = _queries(user).filter(
        _site_filter(site, "site"), _participant_filter(participant, "participant")
    )
    if isinstance(trial, Trial):
        queries = queries.filter(trial=trial)
    elif trial:
        queries = queries.filter(trial__code=trial)
    if status:
        queries = queries.filter(status=status)
    return queries.order_by("opened_at", "pk")


def query_get(user: Any, pk: Any) -> DataQuery:
    """One query with its messages; another site's query is not found, not refused."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError("No such query.") from None
    found = (
        _queries(user)
        .prefetch_related(
            Prefetch("messages", queryset=QueryMessage.objects.select_related("actor"))
        )
        .filter(pk=key)
        .first()
    )
    if found is None:
        raise NotFoundError("No such query, or it is not for your sites.")
    return found


# Locks --------------------------------------------------------------------------------------


def _locks(user: Any) -> QuerySet[Lock]:
    """Locks of the trials the user works in: all of them for all-site roles; the trial's
    and their own sites' for site roles."""
    condition = Q(pk__in=[])
    for trial_id, site_id in membership_scope(user, [r.value for r in Role]):
        if site_id is None:
            condition |= Q(trial_id=trial_id)
        else:
            condition |= Q(trial_id=trial_id) & (Q(site_id__isnull=True) | Q(site_id=site_id))
    return Lock.objects.filter(condition).select_related(
        "trial", "site", "participant", "locked_by", "unlocked_by"
    )


def lock_list(
    user: Any, *, trial: Trial | str | None = None, active: bool | None = None
) -> QuerySet[Lock]:
    """Locks the user may see, newest first; two queries for any number of rows."""
    locks = _locks(user)
    if isinstance(trial, Trial):
        locks = locks.filter(trial=trial)
    elif trial:
        locks = locks.filter(trial__code=trial)
    if active is not None:
        locks = locks.filter(unlocked_at__isnull=active)
    return locks.order_by("-locked_at", "-pk")


def lock_get(user: Any, pk: Any) -> Lock:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError("No such lock.") from None
    found = _locks(user).filter(pk=key).first()
    if found is None:
        raise NotFoundError("No such lock.")
    return found

"""Reads for visits: a participant's schedule with windows as local dates at the site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet

from ecrf.errors import NotFoundError
from trials.access import scope_queryset
from trials.models import Participant
from visits.models import OPEN_STATUSES, Visit
from visits.schedule import local_date


def _visits(user: Any) -> QuerySet[Visit]:
    return scope_queryset(
        Visit.objects.all(), user, trial_field="participant__trial", site_field="participant__site"
    ).select_related("participant__site", "participant__trial")


@dataclass(frozen=True)
class ScheduledVisit:
    """A visit with its window as the first and last local calendar day at the site."""

    visit: Visit
    window_from: date | None
    window_to: date | None

    @property
    def is_open(self) -> bool:
        return self.visit.status in OPEN_STATUSES


def scheduled(visit: Visit) -> ScheduledVisit:
    tz = visit.participant.site.time_zone
    first = last = None
    if visit.window_opens_at is not None:
        first = local_date(visit.window_opens_at, tz)
    if visit.window_closes_at is not None:
        # The stored close is the start of the day after the window: show its last day.
        last = local_date(visit.window_closes_at, tz) - timedelta(days=1)
    return ScheduledVisit(visit=visit, window_from=first, window_to=last)


def visit_schedule(user: Any, participant: Participant) -> list[ScheduledVisit]:
    """The participant's visits in VISITNUM order, or nothing if the user may not see them."""
    visits = _visits(user).filter(participant=participant).order_by("visit_number")
    return [scheduled(visit) for visit in visits]


def visit_get(user: Any, pk: Any) -> Visit:
    """One visit the user may see; another site's visit is not found, not refused."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError("No such visit.") from None
    visit = _visits(user).filter(pk=key).first()
    if visit is None:
        raise NotFoundError("No such visit.")
    return visit

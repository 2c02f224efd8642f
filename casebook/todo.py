"""The home page's to-do list of the signed-in person, and the search for a participant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from alerts.models import AlertStatus
from alerts.selectors import alert_list
from casebook.catalogue import form_types
from casebook.forms_pending import collected
from casebook.review_selectors.signing import visits_awaiting_signature
from ecrf.access import QUERY_OPENER_ROLES, SAE_CLOCK_ROLES, SITE_STAFF_ROLES, Role
from review.models import DataQuery, QueryStatus
from safety.selectors import SaeClock, sae_clock
from trials.access import active_memberships, scope_queryset
from trials.models import Participant, Trial
from trials.selectors import visible_participants
from visits.models import Visit, VisitStatus
from visits.selectors import scheduled

# Each list shows this many items, the most urgent first, and says when there are more.
SHOWN = 25
# "This week": visits whose window opens within the next seven days.
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Listing:
    items: list[Any]
    more: bool


def _listing(rows: Any) -> Listing:
    found = list(rows[: SHOWN + 1])
    return Listing(found[:SHOWN], len(found) > SHOWN)


@dataclass(frozen=True)
class MissingForms:
    """A visit already done at which expected forms have no record."""

    visit: Visit
    forms: list[tuple[str, Any]]  # (form code, label)


@dataclass(frozen=True)
class QueryToDo:
    query: DataQuery
    label: Any
    to_answer: bool


@dataclass(frozen=True)
class ToDo:
    visits: Listing  # of ScheduledVisit
    missing: Listing  # of MissingForms
    queries: Listing  # of QueryToDo
    clocks: list[SaeClock]
    alerts: Listing  # of Alert
    to_sign: Listing  # of Visit, completed and awaiting the investigator's signature
    staff: bool
    reviewer: bool

    @property
    def empty(self) -> bool:
        return not (
            self.visits.items
            or self.missing.items
            or self.queries.items
            or self.clocks
            or self.alerts.items
            or self.to_sign.items
        )


def _site_visits(user: Any) -> QuerySet[Visit]:
    return scope_queryset(
        Visit.objects.all(),
        user,
        trial_field="participant__trial",
        site_field="participant__site",
        roles=SITE_STAFF_ROLES,
    ).select_related("participant__site", "participant__trial")


def visits_due(user: Any, now: datetime) -> Listing:
    """Overdue visits, then those whose window is open or opens within the week, soonest
    closing first; windows are read in each participant's site zone."""
    due = Q(status=VisitStatus.OVERDUE) | Q(
        status__in=(VisitStatus.SCHEDULED, VisitStatus.OPEN),
        window_opens_at__lt=now + WEEK,
        window_closes_at__gt=now,
    )
    rows = _site_visits(user).filter(due).order_by("window_closes_at", "participant_id", "pk")
    listing = _listing(rows)
    return Listing([scheduled(visit) for visit in listing.items], listing.more)


def forms_missing(user: Any, roles: set[str]) -> Listing:
    """Visits done at which a form they collect has no record (not even "not done"): one
    query, the visit's list of forms read as text so that every database can search it. Only
    visits with forms still pending are read (a partial index holds them, oldest first), so
    that the complete ones, nearly all, cost nothing."""
    # Only the forms the user's roles enter.
    has = collected({code: ft for code, ft in form_types().items() if ft.editors & roles})
    lacking = Q(pk__in=[])
    for code in has:
        lacking |= Q(forms_text__contains=f'"{code}"') & Q(**{f"has_{code}": False})
    rows = (
        _site_visits(user)
        .filter(status=VisitStatus.COMPLETED)
        .exclude(forms_pending=[])
        .annotate(forms_text=Cast("forms", TextField()), **{f"has_{c}": e for c, e in has.items()})
        .filter(lacking)
        .order_by("actual_date", "participant_id", "pk")
    )
    listing = _listing(rows)
    types = form_types()
    return Listing(
        [
            MissingForms(
                visit,
                [
                    (code, types[code].label)
                    for code in visit.forms
                    if code in has and not getattr(visit, f"has_{code}")
                ],
            )
            for visit in listing.items
        ],
        listing.more,
    )


def queries_to_do(user: Any, roles: set[str]) -> Listing:
    """Queries waiting on the user: to answer at their sites (site staff), answered and to be
    closed or re-queried (those who open them), oldest first."""
    waiting = {QueryStatus.OPEN: SITE_STAFF_ROLES, QueryStatus.ANSWERED: QUERY_OPENER_ROLES}
    condition = Q(pk__in=[])
    for status, by in waiting.items():
        if roles & by:
            mine = scope_queryset(
                DataQuery.objects.filter(status=status),
                user,
                trial_field="participant__trial",
                site_field="participant__site",
                roles=by,
            )
            condition |= Q(pk__in=mine.values("pk"))
    rows = (
        DataQuery.objects.filter(condition)
        .select_related("participant__site")
        .order_by("opened_at", "pk")
    )
    listing = _listing(rows)
    types = form_types()
    return Listing(
        [
            QueryToDo(
                query,
                types[query.form_code].label if query.form_code in types else "",
                query.status == QueryStatus.OPEN,
            )
            for query in listing.items
        ],
        listing.more,
    )


def todo_list(user: Any, *, now: datetime) -> ToDo:
    """What the user has to do at their sites, each item linking to where it is done. Queries
    do not grow with participants: a few per list, and the SAE clock once per trial."""
    memberships = list(active_memberships(user).values_list("trial_id", "role"))
    roles = {role for _, role in memberships}
    staff = bool(roles & SITE_STAFF_ROLES)
    clock_trials = sorted({trial for trial, role in memberships if role in SAE_CLOCK_ROLES})
    clocks = [
        row
        for trial in Trial.objects.filter(pk__in=clock_trials).order_by("code")
        for row in sae_clock(user, trial, now, pending_only=True)
    ]
    empty = Listing([], False)
    return ToDo(
        visits=visits_due(user, now) if staff else empty,
        missing=forms_missing(user, roles) if staff else empty,
        queries=queries_to_do(user, roles),
        clocks=clocks,
        alerts=_listing(alert_list(user, status=AlertStatus.OPEN)),
        to_sign=_listing(visits_awaiting_signature(user)) if Role.INVESTIGATOR in roles else empty,
        staff=staff,
        reviewer=bool(roles & QUERY_OPENER_ROLES),
    )


def participant_search(user: Any, text: str) -> list[Participant]:
    """Participants within the user's scope whose screening number, participant number or
    randomization number is `text` exactly (ignoring case), else contains it; at most SHOWN."""
    text = text.strip()
    if not text:
        return []
    participants = visible_participants(user)
    exact = participants.filter(
        Q(screening_number__iexact=text)
        | Q(subject_id__iexact=text)
        | Q(randomization_number__iexact=text)
    )
    found = list(exact.order_by("trial__code", "screening_number")[:SHOWN])
    if found:
        return found
    partial = participants.filter(
        Q(screening_number__icontains=text) | Q(subject_id__icontains=text)
    )
    return list(partial.order_by("trial__code", "screening_number")[:SHOWN])

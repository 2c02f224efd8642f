"""The trial's grid: participants down, their visits across, each visit with its forms' state."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from assessments.forms_kit import FormScope
from casebook.grid import (
    TRIALS_FORMS,
    Cell,
    Record,
    form_records,
    readable_types,
    review_marks,
    visit_cell,
)
from ecrf.access import QUERY_OPENER_ROLES, SITE_STAFF_ROLES
from review.models import DataQuery, QueryStatus
from trials.access import membership_scope, scope_condition, user_roles
from trials.models import Consent, EligibilityAnswer, Participant, Site, Trial
from trials.selectors import visible_participants
from visits.models import Visit, VisitStatus
from visits.selectors import ScheduledVisit, scheduled

# How the grid may be ordered: by the identifier people use, or by participant status.
SORTS: dict[str, tuple[str, ...]] = {
    "identifier": ("shown_id", "pk"),
    "-identifier": ("-shown_id", "-pk"),
    "status": ("status", "shown_id", "pk"),
    "-status": ("-status", "shown_id", "pk"),
}


def grid_sites(user: Any, trial: Trial) -> QuerySet[Site]:
    """The trial's sites the user works at (all of them for a trial-wide role)."""
    condition = scope_condition(membership_scope(user), trial="trial_id", site="id")
    return Site.objects.filter(trial=trial).filter(condition).order_by("code")


def needs_action(user: Any, trial: Trial) -> Q:
    """Participants waiting on this user's role: for site staff an overdue visit or a query to
    answer, for those who open queries an answer to read."""
    roles = user_roles(user, trial)
    condition = Q(pk__in=[])
    queries = DataQuery.objects.filter(participant=OuterRef("pk"))
    if roles & SITE_STAFF_ROLES:
        overdue = Visit.objects.filter(participant=OuterRef("pk"), status=VisitStatus.OVERDUE)
        condition |= Q(Exists(overdue)) | Q(Exists(queries.filter(status=QueryStatus.OPEN)))
    if roles & QUERY_OPENER_ROLES:
        condition |= Q(Exists(queries.filter(status=QueryStatus.ANSWERED)))
    return condition


def grid_participants(
    user: Any,
    trial: Trial,
    *,
    site: str = "",
    status: str = "",
    mine: bool = False,
    sort: str = "identifier",
) -> QuerySet[Participant]:
    """The participants of the grid, filtered and ordered, for the paginator to cut: one
    query for the page and one for the count, whatever the number of participants."""
    participants = visible_participants(user).filter(trial=trial)
    if site:
        participants = participants.filter(site__code=site)
    if status:
        participants = participants.filter(status=status)
    if mine:
        participants = participants.filter(needs_action(user, trial))
    return participants.annotate(
        shown_id=Coalesce("subject_id", "screening_number"),
        has_consent=Exists(Consent.objects.filter(participant=OuterRef("pk"))),
        has_answers=Exists(EligibilityAnswer.objects.filter(participant=OuterRef("pk"))),
    ).order_by(*SORTS.get(sort, SORTS["identifier"]))


@dataclass(frozen=True)
class Column:
    code: str
    name: str


@dataclass(frozen=True)
class VisitCell:
    """A visit of a participant with its window at the site and a cell per expected form."""

    scheduled: ScheduledVisit
    cells: tuple[Cell, ...]
    unscheduled: int = 0

    @property
    def visit(self) -> Visit:
        return self.scheduled.visit


@dataclass(frozen=True)
class ParticipantRow:
    participant: Participant
    visits: tuple[VisitCell | None, ...]
    open_queries: int


@dataclass(frozen=True)
class TrialGrid:
    columns: list[Column]
    rows: list[ParticipantRow]
    labels: dict[str, Any]


def trial_grid(
    user: Any, trial: Trial, participants: list[Participant], *, now: datetime
) -> TrialGrid:
    """The grid of one page of participants (from `grid_participants`). Queries do not grow
    with participants or visits: the user's roles (1), visits (1), one per form model (12) and
    the review marks (4). Log forms are left to each casebook."""
    types = {
        code: ftype
        for code, ftype in readable_types(user_roles(user, trial)).items()
        if ftype.scope != FormScope.LOG
    }
    ids = [p.pk for p in participants]
    visits = list(Visit.objects.filter(participant_id__in=ids).order_by("visit_number", "pk"))
    records = form_records(types, ids)
    by_visit: dict[tuple[str, int | None], list[Record]] = defaultdict(list)
    for code, found in records.items():
        for record in found:
            by_visit[(code, record.visit_id)].append(record)
    marks = review_marks(ids, trial.pk)

    columns: dict[str, Column] = {}
    own: dict[int, dict[str, Visit]] = defaultdict(dict)
    unscheduled: dict[int, int] = defaultdict(int)
    for visit in visits:
        if visit.parent_id is not None:
            unscheduled[visit.parent_id] += 1
            continue
        columns.setdefault(visit.code, Column(visit.code, visit.name))
        own[visit.participant_id][visit.code] = visit

    rows = []
    for participant in participants:
        counts = {
            "consents": int(getattr(participant, "has_consent", 0)),
            "answers": int(getattr(participant, "has_answers", 0)),
        }
        cells: list[VisitCell | None] = []
        for column in columns:
            mine = own[participant.pk].get(column)
            if mine is None:
                cells.append(None)
                continue
            mine.participant = participant  # the window is read in the participant's site zone
            shown = tuple(
                visit_cell(code, mine, participant, types, records, by_visit, marks, now, counts)
                for code in mine.forms
                if code in types or code in TRIALS_FORMS
            )
            cells.append(VisitCell(scheduled(mine), shown, unscheduled.get(mine.pk, 0)))
        rows.append(
            ParticipantRow(
                participant, tuple(cells), marks.queries_by_participant.get(participant.pk, 0)
            )
        )
    labels = {**TRIALS_FORMS, **{code: ftype.label for code, ftype in types.items()}}
    return TrialGrid(list(columns.values()), rows, labels)

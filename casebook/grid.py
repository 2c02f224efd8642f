"""The casebook grid: a participant's visits by the forms each expects, with their state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assessments.forms_kit import FormScope, FormType
from assessments.models.base import EntryStatus
from assessments.selectors import readable_with
from casebook.catalogue import form_types
from review.models import DataQuery, Lock, LockLevel, QueryStatus, Signature, SourceVerification
from trials.access import user_roles
from trials.models import Participant
from visits.models import Visit, VisitStatus


class FormState(models.TextChoices):
    """Where a form stands at a visit, as a person reads it: what is still to do first."""

    NOT_DUE = "not_due", _("Not yet due")
    NOT_EXPECTED = "not_expected", _("Not expected (visit not done)")
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")
    NOT_DONE = "not_done", _("Not done")
    QUERY_OPEN = "query_open", _("Query open")
    SDV_DONE = "sdv_done", _("Source verified")
    SIGNED = "signed", _("Signed")
    LOCKED = "locked", _("Locked")


# Each state's icon, read beside its label in the legend and as the icon's accessible text:
# the shape tells the state apart without colour.
ICONS: dict[str, str] = {
    FormState.NOT_DUE: "·",
    FormState.NOT_EXPECTED: "\N{EN DASH}",
    FormState.NOT_STARTED: "○",
    FormState.IN_PROGRESS: "◐",
    FormState.COMPLETE: "●",
    FormState.NOT_DONE: "⊘",
    FormState.QUERY_OPEN: "?",
    FormState.SDV_DONE: "✓",
    FormState.SIGNED: "✎",
    FormState.LOCKED: "■",
}
LEGEND: tuple[tuple[str, str, Any], ...] = tuple(
    (state.value, ICONS[state], state.label) for state in FormState
)

# Forms of the trials app, recorded on the participant page rather than in the casebook.
TRIALS_FORMS: dict[str, Any] = {
    "consent": _("Informed consent"),
    "eligibility": _("Eligibility"),
    "demographics": _("Demographics"),
}
# A form type's readiness check when it has none (see casebook.readiness).
_NO_CHECK = next(f.default for f in fields(FormType) if f.name == "ready_to_sign")


# A form record as review marks name it: (content type id, record id).
Key = tuple[int | None, int | None]


@dataclass(frozen=True)
class Cell:
    form_code: str
    # Entry: entered | missing | not_done | log | not_collected | not_due
    status: str
    record_id: int | None = None
    count: int = 0
    # Review and entry together, for a person: a FormState value.
    state: str = FormState.NOT_STARTED

    @property
    def icon(self) -> str:
        return ICONS[self.state]

    @property
    def state_label(self) -> Any:
        return FormState(self.state).label


@dataclass(frozen=True)
class GridRow:
    visit: Visit
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Record:
    """What the grid needs of one form record: its keys and entry state, not its values."""

    pk: int
    participant_id: int
    visit_id: int | None
    entry_status: str
    row_version: int
    ready: bool = True


@dataclass
class Marks:
    """The review marks of a set of participants: open queries, SDV, signatures, locks."""

    queried: set[Key] = field(default_factory=set)
    queries_by_participant: dict[int, int] = field(default_factory=dict)
    verified: dict[Key, int] = field(default_factory=dict)
    signed_forms: set[Key] = field(default_factory=set)
    signed_visits: set[int] = field(default_factory=set)
    signed_casebooks: set[int] = field(default_factory=set)
    locks: list[tuple[str, int | None, int | None, int | None, int | None]] = field(
        default_factory=list
    )

    def locked(self, participant: Participant, key: Key | None) -> bool:
        for level, site_id, participant_id, ct_id, object_id in self.locks:
            if level == LockLevel.TRIAL:
                return True
            if level == LockLevel.SITE and site_id == participant.site_id:
                return True
            if level == LockLevel.PARTICIPANT and participant_id == participant.pk:
                return True
            if level == LockLevel.FORM and key == (ct_id, object_id):
                return True
        return False


def review_marks(participant_ids: Iterable[int], trial_id: int) -> Marks:
    """Four queries whatever the number of participants: queries not closed, SDV marks and
    signatures in force, and the trial's active locks."""
    ids = list(participant_ids)
    marks = Marks()
    by_participant: dict[int, int] = defaultdict(int)
    for pid, ct_id, object_id in (
        DataQuery.objects.filter(participant_id__in=ids)
        .exclude(status=QueryStatus.CLOSED)
        .values_list("participant_id", "content_type_id", "object_id")
    ):
        marks.queried.add((ct_id, object_id))
        by_participant[pid] += 1
    marks.queries_by_participant = dict(by_participant)
    marks.verified = {
        (ct_id, object_id): version
        for ct_id, object_id, version in SourceVerification.objects.filter(
            participant_id__in=ids, voided_at__isnull=True, complete=True
        ).values_list("content_type_id", "object_id", "row_version")
    }
    for scope, pid, visit_id, ct_id, object_id in Signature.objects.filter(
        participant_id__in=ids, voided_at__isnull=True
    ).values_list("scope", "participant_id", "visit_id", "content_type_id", "object_id"):
        if scope == "casebook":
            marks.signed_casebooks.add(pid)
        elif scope == "visit" and visit_id is not None:
            marks.signed_visits.add(visit_id)
        else:
            marks.signed_forms.add((ct_id, object_id))
    marks.locks = list(
        Lock.objects.filter(trial_id=trial_id, unlocked_at__isnull=True).values_list(
            "level", "site_id", "participant_id", "content_type_id", "object_id"
        )
    )
    return marks


def record_state(
    ftype: FormType, record: Record, participant: Participant, marks: Marks
) -> FormState:
    """The state a person reads first: locked, then a query to settle, then signed, verified,
    still lacking something, and otherwise complete (or recorded as not done)."""
    key = (ContentType.objects.get_for_model(ftype.model).pk, record.pk)
    if marks.locked(participant, key):
        return FormState.LOCKED
    if key in marks.queried:
        return FormState.QUERY_OPEN
    signed = (
        key in marks.signed_forms
        or record.visit_id in marks.signed_visits
        or participant.pk in marks.signed_casebooks
    )
    if signed:
        return FormState.SIGNED
    if marks.verified.get(key) == record.row_version:
        return FormState.SDV_DONE
    if record.entry_status == EntryStatus.NOT_DONE:
        return FormState.NOT_DONE
    return FormState.COMPLETE if record.ready else FormState.IN_PROGRESS


_PRECEDENCE = (
    FormState.LOCKED,
    FormState.QUERY_OPEN,
    FormState.IN_PROGRESS,
    FormState.COMPLETE,
    FormState.NOT_DONE,
    FormState.SDV_DONE,
    FormState.SIGNED,
)


def combined_state(states: list[FormState]) -> FormState:
    """Several records in one cell (a repeating form, a log): all locked reads locked, any
    query reads query open, and otherwise the least advanced of them."""
    if not states:
        return FormState.NOT_STARTED
    if all(state == FormState.LOCKED for state in states):
        return FormState.LOCKED
    for state in _PRECEDENCE[1:]:
        if state in states:
            return state
    return FormState.LOCKED


def form_records(types: dict[str, FormType], participant_ids: list[int]) -> dict[str, list[Record]]:
    """The records of each form type for the participants: one query per form model. Only
    forms that check their own readiness load their values, to run that check."""
    found: dict[str, list[Record]] = {}
    for code, ftype in types.items():
        records = ftype.model._default_manager.filter(participant_id__in=participant_ids)
        if ftype.ready_to_sign is not _NO_CHECK:
            found[code] = [
                Record(
                    r.pk,
                    r.participant_id,
                    r.visit_id,
                    r.entry_status,
                    r.row_version,
                    ready=r.entry_status != EntryStatus.ENTERED or not ftype.ready_to_sign(r),
                )
                for r in records.order_by("pk")
            ]
        else:
            found[code] = [
                Record(*row)
                for row in records.order_by("pk").values_list(
                    "pk", "participant_id", "visit_id", "entry_status", "row_version"
                )
            ]
    return found


def is_due(visit: Visit, now: datetime) -> bool:
    """A visit is due once its window opens (or it was recorded): before, nothing is missing."""
    if visit.status != VisitStatus.SCHEDULED:
        return True
    return visit.window_opens_at is None or visit.window_opens_at <= now


def readable_types(roles: set[str]) -> dict[str, FormType]:
    """Form types readable with `roles`: not the efficacy forms for the pharmacist alone."""
    return {code: ft for code, ft in form_types().items() if readable_with(roles, ft)}


@dataclass
class Collected:
    """A participant's records by form and visit, and the counts of consent and eligibility."""

    by_visit: dict[str, dict[int | None, list[Record]]]
    by_participant: dict[str, list[Record]]
    trials_counts: dict[str, int]


def _collect(
    participant: Participant, types: dict[str, FormType], records: dict[str, list[Record]]
) -> Collected:
    by_visit: dict[str, dict[int | None, list[Record]]] = {}
    by_participant: dict[str, list[Record]] = {}
    for code, found in records.items():
        mine = [r for r in found if r.participant_id == participant.pk]
        by_participant[code] = mine
        grouped: dict[int | None, list[Record]] = defaultdict(list)
        for record in mine:
            grouped[record.visit_id].append(record)
        by_visit[code] = grouped
    counts = Participant.objects.filter(pk=participant.pk).aggregate(
        consents=Count("consents", distinct=True),
        answers=Count("eligibility_answers", distinct=True),
    )
    return Collected(by_visit, by_participant, counts)


def visit_cell(
    code: str,
    visit: Visit,
    participant: Participant,
    types: dict[str, FormType],
    records: dict[str, list[Record]],
    by_visit: dict[tuple[str, int | None], list[Record]],
    marks: Marks,
    now: datetime,
    trials_counts: dict[str, int] | None = None,
) -> Cell:
    """The cell of form `code` at `visit`; `by_visit` holds records by (form, visit id)."""
    due = is_due(visit, now)
    ftype = types.get(code)
    if ftype is None:
        if code not in TRIALS_FORMS:
            return Cell(code, "not_collected", state=FormState.NOT_EXPECTED)
        entered = code == "demographics" or bool(
            (trials_counts or {}).get("consents" if code == "consent" else "answers")
        )
        if entered:
            return Cell(code, "entered", state=FormState.COMPLETE)
        return _empty(code, visit, due)
    if ftype.scope == FormScope.LOG:
        mine = [r for r in records.get(code, ()) if r.participant_id == participant.pk]
        states = [record_state(ftype, r, participant, marks) for r in mine]
        return Cell(code, "log", count=len(mine), state=combined_state(states))
    if ftype.scope == FormScope.PARTICIPANT:
        found = [r for r in records.get(code, ()) if r.participant_id == participant.pk]
    else:
        found = by_visit.get((code, visit.pk), [])
    if not found:
        return _empty(code, visit, due)
    states = [record_state(ftype, r, participant, marks) for r in found]
    if ftype.scope == FormScope.REPEATING:
        return Cell(code, "entered", count=len(found), state=combined_state(states))
    return Cell(code, found[0].entry_status, found[0].pk, state=states[0])


def _empty(code: str, visit: Visit, due: bool) -> Cell:
    if not due:
        return Cell(code, "not_due", state=FormState.NOT_DUE)
    if visit.status in (VisitStatus.MISSED, VisitStatus.NOT_DONE):
        return Cell(code, "missing", state=FormState.NOT_EXPECTED)
    return Cell(code, "missing", state=FormState.NOT_STARTED)


def _types_for(user: Any, participant: Participant) -> dict[str, FormType]:
    if user is None:
        return form_types()
    # Forms the user may not read (efficacy forms for the pharmacist) are left out.
    return readable_types(user_roles(user, participant.trial, participant.site))


def casebook_grid(
    participant: Participant, *, user: Any = None, now: datetime | None = None
) -> list[GridRow]:
    """Visits x expected forms with their state, in queries that do not grow with visits or
    records: visits (1), one per form model (12), the consent and eligibility counts (1), the
    review marks (4), and the user's roles when a user is given (1)."""
    now = now or timezone.now()
    visits = list(Visit.objects.filter(participant=participant).order_by("visit_number"))
    types = _types_for(user, participant)
    hidden = set(form_types()) - set(types)
    records = form_records(types, [participant.pk])
    collected = _collect(participant, types, records)
    by_visit = {
        (code, visit_id): found
        for code, grouped in collected.by_visit.items()
        for visit_id, found in grouped.items()
    }
    marks = review_marks([participant.pk], participant.trial_id)
    return [
        GridRow(
            visit,
            tuple(
                visit_cell(
                    code,
                    visit,
                    participant,
                    types,
                    records,
                    by_visit,
                    marks,
                    now,
                    collected.trials_counts,
                )
                for code in visit.forms
                if code not in hidden
            ),
        )
        for visit in visits
    ]


@dataclass(frozen=True)
class FormRow:
    """One form down the casebook page: its label and, under each visit, the visit and its
    cell (None where the visit does not collect the form)."""

    code: str
    label: Any
    cells: tuple[tuple[Visit, Cell | None], ...]
    trials_form: bool = False


@dataclass(frozen=True)
class LogSection:
    """A running log, shown once: its records' count and their combined state."""

    code: str
    label: Any
    cell: Cell


@dataclass(frozen=True)
class Casebook:
    visits: list[Visit]
    forms: list[FormRow]
    logs: list[LogSection]


def casebook_page(participant: Participant, *, user: Any, now: datetime) -> Casebook:
    """The casebook page: forms down and visits across, each log once in its own section.
    The same queries as `casebook_grid`, whatever the number of visits or records."""
    rows = casebook_grid(participant, user=user, now=now)
    visits = [row.visit for row in rows]
    types = form_types()
    order = [*TRIALS_FORMS, *types]
    by_form: dict[str, dict[int, Cell]] = defaultdict(dict)
    logs: dict[str, Cell] = {}
    for row in rows:
        for cell in row.cells:
            if cell.status == "log":
                logs[cell.form_code] = cell
            elif cell.status != "not_collected":
                by_form[cell.form_code][row.visit.pk] = cell
    forms = [
        FormRow(
            code,
            TRIALS_FORMS.get(code) or gettext(types[code].label),
            tuple((visit, by_form[code].get(visit.pk)) for visit in visits),
            trials_form=code in TRIALS_FORMS,
        )
        for code in order
        if code in by_form
    ]
    # Every readable log is listed, even one no visit names, so that it can be started.
    readable = _types_for(user, participant)
    for code, ftype in readable.items():
        if ftype.scope == FormScope.LOG and code not in logs:
            logs[code] = Cell(code, "log", state=FormState.NOT_STARTED)
    sections = [
        LogSection(code, gettext(types[code].label), logs[code]) for code in types if code in logs
    ]
    return Casebook(visits, forms, sections)

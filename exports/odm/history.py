"""The data points of an ODM export, read from the history tables in document order."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from assessments.models import EntryStatus
from exports.base import ExportContext
from exports.odm.catalogue import SUBJECT_EVENT, UNSCHEDULED_EVENT, Catalogue, Form
from exports.odm.items import Item
from trials.models import AllocationSlot, Cohort, Participant, Site
from visits.models import Visit

# Rows fetched from the database at a time, per history table being read.
CHUNK_SIZE = 2000
STATUS_COLUMNS = frozenset({"entry_status", "not_done_reason"})
_COMMON = (1, Decimal(0))


@dataclass(frozen=True)
class Subject:
    key: str
    site_id: int


@dataclass(frozen=True)
class Location:
    oid: str
    name: str
    time_zone: ZoneInfo


@dataclass(frozen=True)
class VisitRef:
    event: tuple[str, str | None]
    number: Decimal


@dataclass
class Snapshot:
    """What the data points refer to, as it stood at `as_of`: subjects, sites, visits and the
    lookups of coded values. Its size grows with participants and visits, not with data."""

    subjects: dict[int, Subject]
    locations: dict[int, Location]
    visits: dict[int, VisitRef]
    cohorts: dict[int, str] = field(default_factory=dict)
    arms: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Point:
    """One ItemData: a value of one field set, changed or removed by one history record."""

    subject_id: int
    event: tuple[str, str | None]
    form: tuple[str, str | None]
    group: str
    item: str
    transaction: str
    value: str | None
    user_id: int | None
    when: datetime
    reason: str
    source: str


def _latest(
    history: Any, as_of: datetime, columns: tuple[str, ...], **filters: Any
) -> dict[int, tuple[Any, ...]]:
    """The columns of the last history row of each object up to `as_of`, by object id."""
    rows = (
        history.objects.filter(history_date__lte=as_of, **filters)
        .order_by("id", "history_date", "history_id")
        .values_list("id", *columns)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    latest: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        latest[row[0]] = row[1:]
    return latest


def read_snapshot(ctx: ExportContext, catalogue: Catalogue) -> Snapshot:
    """Subjects (their key and site) and sites as they stood at `as_of`; visits and cohorts
    by id; the arms only for an unblinded export."""
    trial_id = ctx.trial.pk
    sites = _latest(Site.history.model, ctx.as_of, ("code", "name", "time_zone"), trial_id=trial_id)
    for site in Site.objects.filter(trial_id=trial_id).exclude(pk__in=list(sites)):
        sites[site.pk] = (site.code, site.name, site.time_zone)
    locations = {
        pk: Location(f"L.{code}", name, ZoneInfo(zone)) for pk, (code, name, zone) in sites.items()
    }
    people = _latest(
        Participant.history.model,
        ctx.as_of,
        ("subject_id", "screening_number", "site_id"),
        trial_id=trial_id,
    )
    subjects = {
        pk: Subject(subject_id or screening, site_id)
        for pk, (subject_id, screening, site_id) in people.items()
    }
    visits = {}
    for pk, code, number, parent_id in Visit.objects.filter(
        participant__trial_id=trial_id
    ).values_list("id", "code", "visit_number", "parent_id"):
        if parent_id is None and code in catalogue.scheduled_visits:
            event: tuple[str, str | None] = (f"SE.{code}", None)
        else:
            event = (UNSCHEDULED_EVENT, code)
        visits[pk] = VisitRef(event, number)
    snapshot = Snapshot(subjects, locations, visits)
    snapshot.cohorts = dict(Cohort.objects.filter(trial_id=trial_id).values_list("id", "code"))
    if not ctx.blinded:
        snapshot.arms = dict(
            AllocationSlot.objects.filter(
                allocation_list__trial_id=trial_id,
                participant__isnull=False,
                assigned_at__lte=ctx.as_of,
            ).values_list("participant_id", "arm_code")
        )
    return snapshot


@dataclass(frozen=True)
class _Record:
    key: tuple[Any, ...]
    form: Form
    object_id: int
    subject_id: int
    event: tuple[str, str | None]
    deleted: bool
    user_id: int | None
    when: datetime
    reason: str
    history_id: int
    # Item OID -> the value as written (None when empty), for the items this row fills.
    values: dict[str, str | None]


def _render(item: Item, raw: Any, subject_id: int, zone: ZoneInfo, snap: Snapshot) -> str | None:
    """A stored value as ODM writes it; None for an empty one."""
    if item.lookup == "arm":
        return snap.arms.get(subject_id) if raw else None
    if item.lookup == "cohort":
        return snap.cohorts.get(raw) if raw is not None else None
    if raw is None or raw == "":
        return None
    if item.kind == "boolean":
        return "Y" if raw else "N"
    if item.kind == "float":
        text = format(Decimal(raw).normalize(), "f")
        return "0" if text == "-0" else text
    if item.kind == "datetime" and isinstance(raw, datetime):
        return raw.astimezone(zone).isoformat()
    if item.kind == "date" and isinstance(raw, date):
        return raw.isoformat()
    if item.kind == "json":
        if raw in ([], {}):
            return None
        return json.dumps(raw, sort_keys=True, ensure_ascii=False)
    return str(raw)


def _records(form: Form, ctx: ExportContext, snap: Snapshot) -> Iterator[_Record]:
    """The history rows of one form up to `as_of`, in the order of the document."""
    trial_filter = (
        {"trial_id": ctx.trial.pk}
        if form.participant_column == "id"
        else {"participant__trial_id": ctx.trial.pk}
    )
    order = [form.participant_column]
    if form.visit_column == "visit_id":
        order.append("visit__visit_number")
    elif form.visit_column == "id":
        order.append("visit_number")
    if not form.pivot_column:
        order.append("id")
    order += ["history_date", "history_id"]
    meta = [
        "id",
        form.participant_column,
        form.visit_column or "id",
        form.pivot_column or "id",
        "history_date",
        "history_id",
        "history_type",
        "history_user_id",
        "history_change_reason",
    ]
    names = list(dict.fromkeys([*meta, *(item.column for item in form.items)]))
    at = {name: index for index, name in enumerate(names)}
    by_pivot: dict[str, list[Item]] = {}
    for item in form.items:
        by_pivot.setdefault(item.pivot, []).append(item)
    rows = (
        form.history.objects.filter(history_date__lte=ctx.as_of, **trial_filter)
        .order_by(*order)
        .values_list(*names)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for row in rows:
        object_id, subject_id, visit_id, pivot, when, history_id, history_type, user_id = (
            row[at[name]] for name in meta[:8]
        )
        subject = snap.subjects.get(subject_id)
        if subject is None:
            continue
        if form.visit_column:
            visit = snap.visits.get(visit_id)
            if visit is None:
                continue
            event, rank = visit.event, (0, visit.number)
        else:
            event, rank = (SUBJECT_EVENT, None), _COMMON
        zone = snap.locations[subject.site_id].time_zone
        items = by_pivot.get(str(pivot) if form.pivot_column else "", [])
        not_done = bool(form.status_column) and row[at[form.status_column]] == EntryStatus.NOT_DONE
        # Pivoted rows share their form instance, so they follow one another by date.
        instance = 0 if form.pivot_column else object_id
        yield _Record(
            key=(subject_id, rank, form.rank, instance, when, history_id),
            form=form,
            object_id=object_id,
            subject_id=subject_id,
            event=event,
            deleted=history_type == "-",
            user_id=user_id,
            when=when,
            reason=row[at["history_change_reason"]] or "",
            history_id=history_id,
            values={
                item.oid: None
                if not_done and item.column not in STATUS_COLUMNS
                else _render(item, row[at[item.column]], subject_id, zone, snap)
                for item in items
            },
        )


def data_points(ctx: ExportContext, catalogue: Catalogue, snap: Snapshot) -> Iterator[Point]:
    """Every ItemData of the export, in document order: by participant, event, form and
    record, then in the order the changes were made, up to `as_of`.

    A history record yields one ItemData per exported field it changed:

    - Insert: the field gets a value it did not have, at first entry of the record or later
      (a field left empty at first entry and filled in afterwards, or filled again after being
      cleared). Fields left empty at first entry yield nothing.
    - Update: the field had a value and now has another; unchanged fields yield nothing.
    - Remove: the field had a value and is now empty (cleared, or the form was recorded as not
      done), or the record itself was deleted. Written with IsNull="Yes" and no Value.

    Whether a once-per-visit form was entered or recorded as not done is its ENTRY_STATUS
    item, with NOT_DONE_REASON beside it, so a form set not done is an Insert (or Update) of
    that status. The other fields of a form not done count as empty (a row's defaults, such
    as SLEDAI-2K items stored as "no", were never collected): values it held are removed and
    values entered afterwards are inserted.

    Each history table is read in one query, a chunk at a time, and the tables are merged on
    the document order, so memory holds a chunk per table, not the trial.
    """
    streams = [_records(form, ctx, snap) for form in catalogue.forms]
    previous: dict[tuple[int, int], dict[str, str | None]] = {}
    instance: tuple[Any, ...] = ()
    for record in heapq.merge(*streams, key=attrgetter("key")):
        form = record.form
        repeat = str(record.object_id) if form.repeating else None
        here = (record.subject_id, record.event, form.oid, repeat)
        if here != instance:
            previous.clear()
            instance = here
        before = previous.get((form.rank, record.object_id), {})
        after = {} if record.deleted else record.values
        source = f"{form.history._meta.label_lower}:{record.history_id}"
        for oid in record.values:
            old, new = before.get(oid), after.get(oid)
            if old == new:
                continue
            transaction = "Insert" if old is None else "Remove" if new is None else "Update"
            yield Point(
                subject_id=record.subject_id,
                event=record.event,
                form=(form.oid, repeat),
                group=form.group_oid,
                item=oid,
                transaction=transaction,
                value=new,
                user_id=record.user_id,
                when=record.when,
                reason=record.reason,
                source=source,
            )
        previous[(form.rank, record.object_id)] = after

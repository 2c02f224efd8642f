"""Reads for case report forms: the casebook grid, one form's data and its history, blinded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from assessments.registry import FormType, form_types
from ecrf.access import Role
from trials.access import user_roles
from trials.blinding import ArmAccess, arm_access
from trials.definitions import definition_of
from trials.models import Participant
from visits.models import Visit

TRIALS_FORMS = {"consent", "eligibility", "demographics"}


@dataclass(frozen=True)
class Cell:
    form_code: str
    status: str  # missing | entered | not_done | log | not_collected
    record_id: int | None = None
    count: int = 0


@dataclass(frozen=True)
class GridRow:
    visit: Visit
    cells: tuple[Cell, ...]


def revealing_fields(ftype: FormType, participant: Participant) -> set[str]:
    """Fields of this form that would reveal allocation, per code and per protocol."""
    blinding = definition_of(participant.protocol_version).blinding
    return set(ftype.revealing) | set(blinding.allocation_revealing.get(ftype.code, ()))


def form_unblinding(
    user: Any, participant: Participant, *, now: datetime | None = None
) -> ArmAccess | None:
    """The ground on which `user` sees allocation-revealing fields of `participant`'s forms:
    the trials blinding gate, the one rule for every path that can show an arm."""
    return arm_access(user, participant, now=now or timezone.now())


def is_unblinded(user: Any, participant: Participant, *, now: datetime | None = None) -> bool:
    return form_unblinding(user, participant, now=now) is not None


def can_read(user: Any, ftype: FormType, participant: Participant) -> bool:
    return readable_with(user_roles(user, participant.trial, participant.site), ftype)


def readable_with(roles: set[str], ftype: FormType) -> bool:
    """Everyone who sees the participant reads its forms, except that a pharmacist (who
    knows the allocation) never reads efficacy forms."""
    if ftype.efficacy and roles and roles <= {Role.PHARMACIST}:
        return False
    return bool(roles)


def readable_form_types(user: Any, participant: Participant) -> list[FormType]:
    return [ft for ft in form_types().values() if can_read(user, ft, participant)]


def visible_fields(user: Any, ftype: FormType, participant: Participant) -> list[str]:
    """Inputs then derived values, without allocation-revealing ones for blinded users."""
    hidden = set() if is_unblinded(user, participant) else revealing_fields(ftype, participant)
    return [name for name in (*ftype.fields, *ftype.derived) if name not in hidden]


def editable_fields(user: Any, ftype: FormType, participant: Participant) -> list[str]:
    """The inputs this user may enter on this form."""
    roles = user_roles(user, participant.trial, participant.site)
    visible = set(visible_fields(user, ftype, participant))
    return [
        name
        for name in ftype.fields
        if roles & ftype.field_editors.get(name, ftype.editors) and name in visible
    ]


def form_records(ftype: FormType, participant: Participant) -> Any:
    return (
        ftype.model.objects.filter(participant=participant)
        .select_related("visit")
        .order_by("visit__visit_number", "pk")
    )


def casebook_grid(participant: Participant, *, user: Any = None) -> list[GridRow]:
    """Visits x expected forms with their state, in one query per form model, whatever the
    number of visits: visits (1), then one per visit-form model, one per log model, and the
    consent and eligibility counts (2)."""
    visits = list(Visit.objects.filter(participant=participant).order_by("visit_number"))
    types = form_types()
    if user is not None:
        # Forms the user may not read (efficacy forms for the pharmacist) are left out.
        roles = user_roles(user, participant.trial, participant.site)
        types = {code: ft for code, ft in types.items() if readable_with(roles, ft)}
        hidden = set(form_types()) - set(types)
        visits_forms = {
            visit.pk: [code for code in visit.forms if code not in hidden] for visit in visits
        }
    else:
        visits_forms = {visit.pk: list(visit.forms) for visit in visits}
    visit_states: dict[str, dict[int, tuple[str, int]]] = {}
    log_counts: dict[str, int] = {}
    repeat_counts: dict[str, dict[int, int]] = {}
    for code, ftype in types.items():
        if ftype.scope == "repeating":
            repeat_counts[code] = dict(
                ftype.model.objects.filter(participant=participant)
                .values_list("visit_id")
                .annotate(n=Count("pk"))
                .values_list("visit_id", "n")
            )
        elif ftype.scope == "participant":
            state = (
                ftype.model.objects.filter(participant=participant)
                .values_list("entry_status", "pk")
                .first()
            )
            visit_states[code] = {visit.pk: state for visit in visits} if state else {}
        elif ftype.scope == "visit":
            visit_states[code] = {
                visit_id: (status, pk)
                for visit_id, status, pk in ftype.model.objects.filter(
                    participant=participant
                ).values_list("visit_id", "entry_status", "pk")
            }
        else:
            log_counts[code] = ftype.model.objects.filter(participant=participant).count()
    counts = Participant.objects.filter(pk=participant.pk).aggregate(
        consents=Count("consents", distinct=True),
        answers=Count("eligibility_answers", distinct=True),
    )
    rows = []
    for visit in visits:
        cells = []
        for code in visits_forms[visit.pk]:
            if code in visit_states:
                state = visit_states[code].get(visit.pk)
                cells.append(
                    Cell(code, state[0] if state else "missing", state[1] if state else None)
                )
            elif code in repeat_counts:
                count = repeat_counts[code].get(visit.pk, 0)
                cells.append(Cell(code, "entered" if count else "missing", count=count))
            elif code in log_counts:
                cells.append(Cell(code, "log", count=log_counts[code]))
            elif code == "consent":
                cells.append(Cell(code, "entered" if counts["consents"] else "missing"))
            elif code == "eligibility":
                cells.append(Cell(code, "entered" if counts["answers"] else "missing"))
            elif code == "demographics":
                cells.append(Cell(code, "entered"))
            else:
                cells.append(Cell(code, "not_collected"))
        rows.append(GridRow(visit, tuple(cells)))
    return rows


def form_record(
    ftype: FormType, participant: Participant, *, visit: Visit | None, record_id: int | None
) -> Any:
    manager = ftype.model.objects.select_related("visit")
    if ftype.scope == "visit":
        return manager.filter(participant=participant, visit=visit).first()
    if ftype.scope == "participant":
        return manager.filter(participant=participant).first()
    return manager.filter(participant=participant, pk=record_id).first()


def form_values(user: Any, ftype: FormType, instance: Any) -> dict[str, Any]:
    """The inputs and derived values of a form, without allocation-revealing fields for
    blinded users."""
    hidden = (
        set()
        if is_unblinded(user, instance.participant)
        else revealing_fields(ftype, instance.participant)
    )
    names = [name for name in (*ftype.fields, *ftype.derived) if name not in hidden]
    return {name: getattr(instance, name) for name in names}


def display_value(value: Any) -> Any:
    """A stored value as a reader sees it: reasons and lists as lines of text, not as JSON."""
    if isinstance(value, list):
        return "; ".join(
            str(item.get("text", item)) if isinstance(item, dict) else str(item) for item in value
        )
    if isinstance(value, dict):
        return "; ".join(f"{key}: {display_value(item)}" for key, item in value.items())
    return value


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class HistoryEntry:
    when: Any
    who: str
    kind: str  # created | changed
    reason: str
    changes: tuple[Change, ...]


def form_history(user: Any, ftype: FormType, instance: Any) -> list[HistoryEntry]:
    """Who changed what and when, old -> new, with the reason; revealing fields left out for
    blinded users, and the entries that touched only those fields omitted."""
    hidden = (
        set()
        if is_unblinded(user, instance.participant)
        else revealing_fields(ftype, instance.participant)
    )
    shown = [
        name
        for name in (*ftype.fields, *ftype.derived, "entry_status", "not_done_reason")
        if name not in hidden
    ]
    records = list(instance.history.order_by("history_date", "history_id"))
    entries = []
    previous = None
    for record in records:
        changes = tuple(
            Change(name, getattr(previous, name) if previous else None, getattr(record, name))
            for name in shown
            if (previous is None and getattr(record, name) not in (None, "", False, []))
            or (previous is not None and getattr(previous, name) != getattr(record, name))
        )
        if previous is None or changes:
            entries.append(
                HistoryEntry(
                    when=record.history_date,
                    who=record.history_actor(),
                    kind="created" if previous is None else "changed",
                    reason=record.history_change_reason or "",
                    changes=changes,
                )
            )
        previous = record
    return entries

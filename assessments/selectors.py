"""Reads for case report forms: one form's records, values and history, blinded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from assessments.forms_kit import FormScope, FormType
from ecrf.access import Role
from ecrf.errors import NotFoundError
from trials.access import user_roles
from trials.blinding import ArmAccess, arm_access
from trials.definitions import definition_of
from trials.models import Participant
from visits.models import Visit


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


def visible_fields(user: Any, ftype: FormType, participant: Participant) -> list[str]:
    """Inputs then derived values, without allocation-revealing ones for blinded users. The
    blinding gate is asked only about a form that has such fields."""
    revealing = revealing_fields(ftype, participant)
    hidden = revealing if revealing and not is_unblinded(user, participant) else set()
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
        # The site's zone is read by explanations that give times on its clock.
        .select_related("visit", "participant__site")
        .order_by("visit__visit_number", "pk")
    )


def form_record(
    ftype: FormType, participant: Participant, *, visit: Visit | None, record_id: int | None
) -> Any:
    manager = ftype.model.objects.select_related("visit")
    if ftype.scope == FormScope.VISIT:
        return manager.filter(participant=participant, visit=visit).first()
    if ftype.scope == FormScope.PARTICIPANT:
        return manager.filter(participant=participant).first()
    return manager.filter(participant=participant, pk=record_id).first()


def form_record_get(ftype: FormType, participant: Participant, record_id: int) -> Any:
    """One record of a participant's form, by its id, with its visit and the visit's protocol
    version (which the form's checks read)."""
    records = ftype.model.objects.filter(participant=participant, pk=record_id)
    if any(field.name == "visit" for field in ftype.model._meta.concrete_fields):
        records = records.select_related("visit__protocol_version")
    found = records.first()
    if found is None:
        raise NotFoundError(gettext("No such %(form)s record.") % {"form": gettext(ftype.label)})
    found.participant = participant  # the row it was found by: not read again
    return found


def form_values(user: Any, ftype: FormType, instance: Any) -> dict[str, Any]:
    """The inputs and derived values of a form, without allocation-revealing fields for
    blinded users."""
    revealing = revealing_fields(ftype, instance.participant)
    hidden = revealing if revealing and not is_unblinded(user, instance.participant) else set()
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

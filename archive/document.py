"""A participant's casebook as one document: every form as the site reads it, its queries and
signatures, and the audit trail, as the casebook stood at an instant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from assessments.forms_kit import FormType
from assessments.selectors import (
    display_value,
    form_records,
    form_values,
    readable_with,
    revealing_fields,
)
from casebook.catalogue import form_types
from casebook.review_selectors import REVIEW_ROLES, AuditRow, audit_trail, field_labels
from review.models import DataQuery, QueryMessage, Signature, SignatureScope
from trials.access import user_roles
from trials.models import Participant


@dataclass(frozen=True)
class ValueRow:
    name: str
    label: str
    value: Any


@dataclass(frozen=True)
class QueryRow:
    query: DataQuery
    field_label: str
    messages: list[QueryMessage]


@dataclass(frozen=True)
class FormRecord:
    """One record of a form: its values as the reader sees them (choices by their label), the
    sentence explaining what was derived, and the queries raised on it."""

    ftype: FormType
    record: Any
    visit: str
    not_done_reason: str
    values: list[ValueRow]
    explanation: str
    queries: list[QueryRow] = field(default_factory=list)


@dataclass(frozen=True)
class SignatureRow:
    signature: Signature
    covers: str
    void: bool


@dataclass(frozen=True)
class CasebookDocument:
    participant: Participant
    as_of: datetime
    time_zone: str
    records: list[FormRecord]
    signatures: list[SignatureRow]
    audit: list[AuditRow]
    shows_queries: bool
    # The forms whose allocation-revealing values the reader was shown (unblinded only).
    revealing_forms: list[FormType]


def _shown(model: Any, name: str, value: Any) -> Any:
    """A stored value as a clinician reads it: a choice by its label, lists as text."""
    try:
        model_field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a derived value that is no model field is shown as it is
        return display_value(value)
    choices = dict(getattr(model_field, "flatchoices", None) or ())
    if choices and not isinstance(value, list | dict | bool) and value not in (None, ""):
        return choices.get(value, value)
    return display_value(value)


def _queries(
    participant: Participant, as_of: datetime
) -> dict[tuple[str, int | None], list[DataQuery]]:
    found: dict[tuple[str, int | None], list[DataQuery]] = {}
    messages = QueryMessage.objects.filter(at__lte=as_of).select_related("actor").order_by("at")
    for query in (
        DataQuery.objects.filter(participant=participant, opened_at__lte=as_of)
        .prefetch_related(Prefetch("messages", queryset=messages))
        .order_by("opened_at", "pk")
    ):
        found.setdefault((query.form_code, query.object_id), []).append(query)
    return found


def _signatures(
    participant: Participant, as_of: datetime, labels: dict[str, str]
) -> list[SignatureRow]:
    rows = []
    for signature in (
        Signature.objects.filter(participant=participant, signed_at__lte=as_of)
        .select_related("visit")
        .order_by("signed_at", "pk")
    ):
        if signature.scope == SignatureScope.CASEBOOK:
            covers = _("The whole casebook")
        elif signature.scope == SignatureScope.VISIT:
            covers = _("Visit %(visit)s") % {
                "visit": signature.visit.code if signature.visit else ""
            }
        else:
            covers = labels.get(signature.form_code, signature.form_code)
        void = signature.voided_at is not None and signature.voided_at <= as_of
        rows.append(SignatureRow(signature=signature, covers=covers, void=void))
    return rows


def _records(
    user: Any,
    participant: Participant,
    ftypes: Iterable[FormType],
    queries: dict[tuple[str, int | None], list[DataQuery]],
) -> list[FormRecord]:
    records = []
    for ftype in ftypes:
        labels = field_labels(ftype)
        for record in form_records(ftype, participant):
            record.participant = participant
            values = form_values(user, ftype, record)
            rows = [
                ValueRow(name, labels.get(name, name), _shown(ftype.model, name, value))
                for name, value in values.items()
            ]
            found = queries.get((ftype.code, record.pk), [])
            records.append(
                FormRecord(
                    ftype=ftype,
                    record=record,
                    visit=f"{record.visit.code} {record.visit.name}" if record.visit else "",
                    not_done_reason=(
                        record.not_done_reason if record.entry_status == "not_done" else ""
                    ),
                    values=rows,
                    explanation=ftype.explain(record) if record.entry_status != "not_done" else "",
                    queries=[
                        QueryRow(
                            query=q,
                            field_label=labels.get(q.field_name, q.field_name)
                            if q.field_name
                            else _("Whole form"),
                            messages=list(q.messages.all()),
                        )
                        for q in found
                    ],
                )
            )
    return records


def casebook_document(user: Any, participant: Participant, *, as_of: datetime) -> CasebookDocument:
    """The casebook of `participant` as `user` may read it: the forms their roles read, with
    allocation-revealing values only for an unblinded reader; the queries (for the roles that
    review) and the signatures as they stood at `as_of`; the audit trail up to `as_of`.

    The forms are read as they are now: a casebook is archived once its data are locked, and
    then the data now are the data at the lock."""
    roles = user_roles(user, participant.trial, participant.site)
    ftypes = [ftype for ftype in form_types().values() if readable_with(roles, ftype)]
    shows_queries = bool(roles & REVIEW_ROLES)
    queries = _queries(participant, as_of) if shows_queries else {}
    records = _records(user, participant, ftypes, queries)
    labels = {ftype.code: ftype.label for ftype in ftypes}
    audit = audit_trail(user, participant, until=as_of)
    revealing = {row.form_code for row in audit if row.revealing}
    return CasebookDocument(
        participant=participant,
        as_of=as_of,
        time_zone=participant.site.time_zone,
        records=records,
        signatures=_signatures(participant, as_of, labels),
        audit=audit,
        shows_queries=shows_queries,
        revealing_forms=[f for f in ftypes if f.code in revealing or _shows_revealing(f, records)],
    )


def _shows_revealing(ftype: FormType, records: list[FormRecord]) -> bool:
    for item in records:
        if item.ftype is ftype:
            hidden = revealing_fields(ftype, item.record.participant)
            return any(row.name in hidden for row in item.values)
    return False

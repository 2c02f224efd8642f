"""One record under review: its values, history, queries beside the fields, SDV and signatures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessments.forms_kit import FormType
from assessments.selectors import (
    HistoryEntry,
    form_history,
    form_values,
    readable_with,
)
from casebook.catalogue import form_type, form_types
from casebook.review_selectors.scope import REVIEW_ROLES, age_days
from ecrf.access import (
    QUERY_OPENER_ROLES,
    SITE_STAFF_ROLES,
    Role,
)
from ecrf.errors import NotFoundError
from review.locks import active_lock
from review.models import (
    DataQuery,
    Lock,
    QueryMessage,
    QueryStatus,
    Signature,
    SignatureScope,
    SourceVerification,
)
from review.services.locks import LOCK_ROLES
from review.services.queries import REOPENER_ROLES
from review.services.sdv import SDV_ROLES, sdv_requirement
from trials.access import user_roles
from trials.models import Participant

# One record under review --------------------------------------------------------------------


def form_record_get(user: Any, participant_id: Any, form_code: str, record_id: Any) -> Any:
    """One form record of a participant the user may see, of a form their role reads;
    `participant_id` None: whichever participant the record belongs to."""
    from trials.selectors import participant_get

    try:
        ftype = form_type(form_code)
        key = int(record_id)
    except (NotFoundError, TypeError, ValueError):
        raise NotFoundError("No such form.") from None
    if participant_id is None:
        participant_id = (
            ftype.model.objects.filter(pk=key).values_list("participant_id", flat=True).first()
        )
    participant = participant_get(user, participant_id)
    if not readable_with(user_roles(user, participant.trial, participant.site), ftype):
        raise NotFoundError(f"{ftype.label} is not available to your role.")
    record = (
        ftype.model.objects.select_related("visit").filter(participant=participant, pk=key).first()
    )
    if record is None:
        raise NotFoundError(f"No such {ftype.label} record for this participant.")
    # The participant read through the user's scope, with its trial, site and version loaded.
    record.participant = participant
    return record


@dataclass(frozen=True)
class QueryView:
    """A query with its messages and the moves the reader may make on it."""

    query: DataQuery
    messages: list[QueryMessage]
    age_days: int
    can_answer: bool
    can_close: bool
    can_reopen: bool

    @property
    def can_requery(self) -> bool:
        return self.can_close


@dataclass(frozen=True)
class FieldReview:
    name: str
    label: str
    value: Any
    queries: list[QueryView]

    @property
    def open_count(self) -> int:
        return sum(1 for q in self.queries if q.query.status != QueryStatus.CLOSED)


@dataclass(frozen=True)
class RecordReview:
    participant: Participant
    ftype: FormType
    record: Any
    sections: list[tuple[Any, list[FieldReview]]]
    form_queries: list[QueryView]
    history: list[HistoryEntry]
    labels: dict[str, str]
    sdv: SourceVerification | None
    sdv_in_plan: bool
    # The fields the SDV plan requires on this record, its critical ones, and those verified
    # at the record's current version.
    sdv_required: frozenset[str]
    sdv_critical: frozenset[str]
    sdv_fields: frozenset[str]
    form_signature: Signature | None
    visit_signature: Signature | None
    casebook_signature: Signature | None
    lock: Lock | None
    roles: frozenset[str]
    can_open_query: bool
    can_verify: bool
    can_sign: bool
    can_lock: bool
    queries: list[QueryView] = field(default_factory=list)

    @property
    def sdv_current(self) -> bool:
        return (
            self.sdv is not None
            and self.sdv.row_version == self.record.row_version
            and self.sdv.complete
        )

    @property
    def open_query_count(self) -> int:
        return sum(1 for q in self.queries if q.query.status != QueryStatus.CLOSED)


def model_labels(model: Any) -> dict[str, str]:
    """The verbose name of each field of `model`, by field name."""
    return {
        f.name: str(getattr(f, "verbose_name", f.name))
        for f in model._meta.get_fields()
        if hasattr(f, "verbose_name")
    }


def field_labels(ftype: FormType) -> dict[str, str]:
    return model_labels(ftype.model)


def _query_view(query: DataQuery, roles: frozenset[str], now: datetime) -> QueryView:
    closers = {query.opener_role} if query.opener_role != "system" else set(QUERY_OPENER_ROLES)
    return QueryView(
        query=query,
        messages=list(query.messages.all()),
        age_days=age_days(query, now),
        can_answer=query.status == QueryStatus.OPEN and bool(roles & SITE_STAFF_ROLES),
        can_close=query.status == QueryStatus.ANSWERED and bool(roles & closers),
        can_reopen=query.status == QueryStatus.CLOSED and bool(roles & REOPENER_ROLES),
    )


def _record_queries(
    participant: Participant,
    form_code: str,
    record: Any,
    roles: frozenset[str],
    now: datetime,
) -> list[QueryView]:
    """The queries on the record, oldest first, with their messages; none for roles outside
    review (pharmacy, statistics), who read the data but not the queries."""
    found = (
        DataQuery.objects.filter(participant=participant, form_code=form_code, object_id=record.pk)
        if roles & REVIEW_ROLES
        else DataQuery.objects.none()
    )
    return [
        _query_view(q, roles, now)
        for q in found.select_related("opened_by")
        .prefetch_related(
            Prefetch("messages", queryset=QueryMessage.objects.select_related("actor"))
        )
        .order_by("opened_at", "pk")
    ]


def _sections(
    ftype: FormType,
    values: dict[str, Any],
    labels: dict[str, str],
    by_field: dict[str, list[QueryView]],
) -> list[tuple[Any, list[FieldReview]]]:
    """The fields the reader sees with their queries, in the form's fieldsets: fields outside
    any fieldset first, the derived ones last."""

    def review(name: str) -> FieldReview:
        return FieldReview(name, labels.get(name, name), values[name], by_field.get(name, []))

    sections: list[tuple[Any, list[FieldReview]]] = []
    placed: set[str] = set()
    for title, names in ftype.fieldsets:
        shown = [review(name) for name in names if name in values]
        placed.update(names)
        if shown:
            sections.append((title, shown))
    rest = [review(name) for name in ftype.fields if name in values and name not in placed]
    if rest:
        sections.insert(0, ("", rest))
    derived = [review(name) for name in ftype.derived if name in values and name not in placed]
    if derived:
        sections.append((_("Derived by the system"), derived))
    return sections


def _valid_signatures(
    participant: Participant, form_code: str, record: Any
) -> dict[str, Signature | None]:
    """The latest valid signature covering the record, of each scope: the form, its visit and
    the casebook."""
    signatures = list(
        Signature.objects.filter(participant=participant, voided_at__isnull=True)
        .filter(
            Q(scope=SignatureScope.CASEBOOK)
            | Q(scope=SignatureScope.FORM, form_code=form_code, object_id=record.pk)
            | Q(scope=SignatureScope.VISIT, visit_id=getattr(record, "visit_id", None) or 0)
        )
        .select_related("signer")
        .order_by("-signed_at")
    )
    return {
        scope: next((s for s in signatures if s.scope == scope), None)
        for scope in (SignatureScope.FORM, SignatureScope.VISIT, SignatureScope.CASEBOOK)
    }


def record_review(
    user: Any, form_code: str, record: Any, *, now: datetime | None = None
) -> RecordReview:
    """A form record as its reviewer sees it: the data (blinded), each field's queries, the
    history, the current source verification and the valid signatures covering it."""
    now = now or timezone.now()
    participant = record.participant
    ftype = form_type(form_code)
    roles = frozenset(user_roles(user, participant.trial, participant.site))
    if not readable_with(set(roles), ftype):
        raise NotFoundError(f"{ftype.label} is not available to your role.")
    values = form_values(user, ftype, record)
    labels = field_labels(ftype)
    queries = _record_queries(participant, form_code, record, roles, now)
    by_field: dict[str, list[QueryView]] = {}
    for view in queries:
        by_field.setdefault(view.query.field_name, []).append(view)
    sections = _sections(ftype, values, labels, by_field)
    # Whole-form queries, and any on a field this reader does not see, are shown with the form.
    form_queries = [
        view for name, views in by_field.items() if name not in values for view in views
    ]
    signatures = _valid_signatures(participant, form_code, record)
    requirement = sdv_requirement(participant, form_code)
    sdv = (
        SourceVerification.objects.filter(
            form_code=form_code, object_id=record.pk, voided_at__isnull=True
        )
        .select_related("verified_by")
        .order_by("-verified_at", "-pk")
        .first()
    )
    return RecordReview(
        participant=participant,
        ftype=ftype,
        record=record,
        sections=sections,
        form_queries=form_queries,
        history=form_history(user, ftype, record),
        labels=labels,
        sdv=sdv,
        sdv_in_plan=requirement.needed,
        sdv_required=requirement.required(ftype.fields),
        sdv_critical=requirement.critical,
        sdv_fields=frozenset(sdv.verified_fields)
        if sdv is not None and sdv.row_version == record.row_version
        else frozenset(),
        form_signature=signatures[SignatureScope.FORM],
        visit_signature=signatures[SignatureScope.VISIT],
        casebook_signature=signatures[SignatureScope.CASEBOOK],
        lock=active_lock(
            trial_id=participant.trial_id,
            site_id=participant.site_id,
            participant_id=participant.pk,
            record=record,
        ),
        roles=roles,
        can_open_query=bool(roles & QUERY_OPENER_ROLES),
        can_verify=bool(roles & SDV_ROLES) and record.entry_status == "entered",
        can_sign=Role.INVESTIGATOR in roles,
        can_lock=bool(roles & LOCK_ROLES),
        queries=queries,
    )


def audit_form_choices(user: Any, participant: Participant) -> list[tuple[str, Any]]:
    """The forms (and trial records) whose changes the user may follow in the audit trail."""
    roles = user_roles(user, participant.trial, participant.site)
    return [
        *(
            (code, ftype.label)
            for code, ftype in form_types().items()
            if readable_with(roles, ftype)
        ),
        ("participant", _("Participant")),
        ("visit", _("Visit")),
        ("consent", _("Consent")),
        ("eligibility", _("Eligibility")),
    ]

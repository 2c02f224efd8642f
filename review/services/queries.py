"""The query workflow: open, answer, close, re-query, re-open; automatic queries from warnings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_noop

from ecrf.access import QUERY_OPENER_ROLES, SITE_STAFF_ROLES, Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from ecrf.messages import Text
from review.locks import LockedError
from review.models import (
    DataQuery,
    Lock,
    LockLevel,
    QueryAction,
    QueryMessage,
    QueryStatus,
    ResponseCode,
)
from review.services.records import _record_ref
from trials.access import require_role, user_roles

REOPENER_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER})


class FormKind(Protocol):
    """What opening a query needs of a form type; the caller passes its own in."""

    @property
    def code(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def model(self) -> Any: ...

    @property
    def fields(self) -> tuple[str, ...]: ...

    @property
    def derived(self) -> tuple[str, ...]: ...


def _refuse_if_trial_locked(trial_id: int) -> None:
    if Lock.objects.filter(
        trial_id=trial_id, level=LockLevel.TRIAL, unlocked_at__isnull=True
    ).exists():
        raise LockedError("The trial database is locked: queries are frozen.")


def _text(text: str, what: str) -> str:
    if not text.strip():
        raise DomainError(f"Write the {what}.", fields={"text": ["Required."]})
    return text.strip()


def _message(
    query: DataQuery,
    action: str,
    actor: Any,
    role: str,
    text: str | Text,
    now: datetime,
    code: str = "",
) -> None:
    """One step of `query`; the system's `Text` is kept so that each reader reads it in their
    language."""
    QueryMessage.objects.create(
        query=query,
        action=action,
        actor=actor,
        role=role,
        response_code=code,
        at=now,
        **_worded(text),
    )


def _worded(text: str | Text) -> dict[str, Any]:
    """The text fields of a query or message: English text, and the template of a `Text`."""
    if isinstance(text, Text):
        return {"text": text.english, "text_template": text.template, "text_params": text.params}
    return {"text": text}


def warning_text(warning: dict[str, Any]) -> str | Text:
    """A warning kept on a form as the text of its automatic query."""
    if warning.get("template"):
        return Text(warning["template"], **(warning.get("params") or {}))
    return str(warning["message"])


def query_open(
    *, actor: Any, ftype: FormKind, record: Any, field_name: str = "", text: str, now: datetime
) -> DataQuery:
    """A monitor, data manager or medical monitor asks the site about a field or a form of
    the type `ftype`."""
    participant = record.participant
    role = require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        # A coder asks the site about a reported term that no dictionary entry fits.
        roles=QUERY_OPENER_ROLES | {Role.CODER},
        action=gettext_noop("open queries"),
    )
    if not isinstance(record, ftype.model):
        raise DomainError("The record is not a form of that kind.")
    if field_name and field_name not in (*ftype.fields, *ftype.derived):
        raise DomainError(
            f"{ftype.label} has no field {field_name}.", fields={"field_name": ["Unknown field."]}
        )
    _refuse_if_trial_locked(participant.trial_id)
    body = _text(text, "question")
    with transaction.atomic():
        query = audited_save(
            DataQuery(
                participant=participant,
                trial_id=participant.trial_id,
                site_id=participant.site_id,
                form_code=ftype.code,
                field_name=field_name,
                opened_by=actor,
                opener_role=role,
                opened_at=now,
                text=body,
                **_record_ref(record),
            ),
            actor=actor,
        )
        _message(query, QueryAction.OPEN, actor, role, body, now)
        return query


def automatic_query_key(form_code: str, record: Any, warning: dict[str, Any]) -> str:
    """What makes one warning on one form one automatic query, whoever raises it."""
    return f"auto:{form_code}:{record.pk}:{warning['field']}:{warning['message']}"[:200]


def automatic_query(
    *,
    form_code: str,
    record: Any,
    warning: dict[str, Any],
    actor: Any,
    now: datetime,
    content_type: ContentType,
) -> DataQuery:
    """The automatic query (unsaved) a soft edit-check warning kept on a form becomes."""
    participant = record.participant
    return DataQuery(
        participant_id=participant.pk,
        trial_id=participant.trial_id,
        site_id=participant.site_id,
        form_code=form_code,
        field_name=warning["field"],
        automatic=True,
        source_key=automatic_query_key(form_code, record, warning),
        opened_by=actor,
        opener_role="system",
        opened_at=now,
        **_worded(warning_text(warning)),
        content_type=content_type,
        object_id=record.pk,
    )


CLOSED_BY_CHECK = gettext_noop(
    "Closed automatically: the check no longer fires after the correction."
)
REOPENED_BY_CHECK = gettext_noop("Re-opened automatically: the check fires again.")
AUTOMATIC_ROLE = "system"


def automatic_queries_of_records(model: type[Any]) -> RawSQL:
    """For a query of records of `model`: whether the record has automatic queries, looked for
    in the query that reads the record."""
    # Table names from the models' metadata; the value is a parameter.
    record = connection.ops.quote_name(model._meta.db_table)
    return RawSQL(  # noqa: S611
        f"EXISTS (SELECT 1 FROM {DataQuery._meta.db_table} q"  # noqa: S608
        f" WHERE q.content_type_id = %s AND q.object_id = {record}.id AND q.automatic)",
        (ContentType.objects.get_for_model(model).pk,),
        output_field=BooleanField(),
    )


def queries_from_warnings(
    *, actor: Any, form_code: str, record: Any, now: datetime, any_automatic: bool = True
) -> list[DataQuery]:
    """Every soft edit-check warning kept on a form becomes an automatic query, once. The save
    also settles the record's earlier automatic queries: one whose check no longer fires is
    closed, and one closed that way is re-opened when its check fires again. Queries people
    opened are left alone. A caller that found, when it read and locked the record in this
    transaction, that it has no automatic query (`automatic_queries_of_records`) passes
    `any_automatic=False`: a record with no warning then has nothing to settle or open."""
    warnings = {
        automatic_query_key(form_code, record, warning): warning
        for warning in record.warnings or []
    }
    if not warnings and not any_automatic:
        return []
    content_type = ContentType.objects.get_for_model(type(record))
    # The record's automatic queries, read and locked at once: those to settle, and the
    # warnings that have their query already.
    automatic = list(
        DataQuery.objects.select_for_update().filter(
            content_type=content_type, object_id=record.pk, automatic=True
        )
    )
    _automatic_queries_settle(
        actor=actor, record=record, automatic=automatic, firing=set(warnings), now=now
    )
    known = {query.source_key for query in automatic}
    created = []
    for key, warning in warnings.items():
        if key in known or DataQuery.objects.filter(source_key=key).exists():
            continue
        query = audited_save(
            automatic_query(
                form_code=form_code,
                record=record,
                warning=warning,
                actor=actor,
                now=now,
                content_type=content_type,
            ),
            actor=actor,
        )
        _message(query, QueryAction.OPEN, actor, AUTOMATIC_ROLE, warning_text(warning), now)
        created.append(query)
    return created


def _automatic_queries_settle(
    *, actor: Any, record: Any, automatic: list[DataQuery], firing: set[str], now: datetime
) -> None:
    """Close the record's automatic queries whose check no longer fires, linked to the history
    record of the save that corrected the data (the one just made); re-open those the check
    itself closed once it fires again. `automatic` are the record's automatic queries, locked."""
    silenced = [
        query
        for query in automatic
        if query.status in (QueryStatus.OPEN, QueryStatus.ANSWERED)
        and query.source_key not in firing
    ]
    correction = record.history.order_by("-history_id").first() if silenced else None
    for query in silenced:
        if query.correction_history_id is None and correction is not None:
            query.correction_history_id = correction.history_id
        query.status = QueryStatus.CLOSED
        query.closed_at = now
        _message(query, QueryAction.CLOSE, actor, AUTOMATIC_ROLE, Text(CLOSED_BY_CHECK), now)
        audited_save(query, actor=actor, reason=CLOSED_BY_CHECK)
    refiring = [
        query
        for query in automatic
        if query.status == QueryStatus.CLOSED and query.source_key in firing
    ]
    for query in refiring:
        last = query.messages.order_by("-at", "-pk").first()
        if last is None or (last.action, last.role) != (QueryAction.CLOSE, AUTOMATIC_ROLE):
            continue
        query.status = QueryStatus.OPEN
        query.closed_at = None
        query.response_code = ""
        query.correction_history_id = None
        _message(query, QueryAction.REOPEN, actor, AUTOMATIC_ROLE, Text(REOPENED_BY_CHECK), now)
        audited_save(query, actor=actor, reason=REOPENED_BY_CHECK)


def _locked_query(query: DataQuery) -> DataQuery:
    return (
        DataQuery.objects.select_for_update()
        .select_related("participant", "trial", "site")
        .get(pk=query.pk)
    )


def _correction_since(record: Any, since: datetime) -> Any:
    """The latest history record of `record` saved after `since`.

    Compared on `updated_at`, the clock the services are given (like `opened_at`), not on the
    history row's wall-clock `history_date`.
    """
    history = record.history.all()
    if hasattr(record, "updated_at"):
        history = history.filter(updated_at__gt=since)
    else:
        history = history.filter(history_date__gt=since)
    return history.order_by("-history_id").first()


def query_answer(
    *, actor: Any, query: DataQuery, response_code: str, text: str, now: datetime
) -> DataQuery:
    """Site staff answer; "data corrected" links the history record of the correction."""
    role = require_role(
        actor,
        trial=query.trial,
        site=query.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("answer queries"),
    )
    if response_code not in ResponseCode.values:
        raise DomainError("Choose a response code.", fields={"response_code": ["Unknown code."]})
    body = _text(text, "answer")
    _refuse_if_trial_locked(query.trial_id)
    with transaction.atomic():
        locked = _locked_query(query)
        if locked.status != QueryStatus.OPEN:
            raise InvalidTransitionError(
                f"The query is {locked.get_status_display().lower()}; "
                "only an open query is answered."
            )
        locked.correction_history_id = None
        if response_code == ResponseCode.DATA_CORRECTED:
            record = locked.record
            correction = _correction_since(record, locked.opened_at) if record else None
            if correction is None:
                raise DomainError(
                    "No correction has been saved since the query was opened; "
                    "correct the data first."
                )
            locked.correction_history_id = correction.history_id
        locked.status = QueryStatus.ANSWERED
        locked.response_code = response_code
        _message(locked, QueryAction.ANSWER, actor, role, body, now, response_code)
        return audited_save(locked, actor=actor, reason="Answered")


def _opener_check(actor: Any, query: DataQuery, action: str) -> str:
    roles = user_roles(actor, query.trial, query.site)
    allowed = {query.opener_role} if query.opener_role != "system" else set(QUERY_OPENER_ROLES)
    held = roles & allowed
    if not held:
        raise PermissionDeniedError(f"Only the role that opened the query may {action} it.")
    return sorted(held)[0]


def query_close(*, actor: Any, query: DataQuery, text: str = "", now: datetime) -> DataQuery:
    role = _opener_check(actor, query, "close")
    _refuse_if_trial_locked(query.trial_id)
    with transaction.atomic():
        locked = _locked_query(query)
        if locked.status != QueryStatus.ANSWERED:
            raise InvalidTransitionError("Only an answered query is closed.")
        locked.status = QueryStatus.CLOSED
        locked.closed_at = now
        said: str | Text = text.strip() or Text(gettext_noop("Closed"))
        _message(locked, QueryAction.CLOSE, actor, role, said, now)
        return audited_save(locked, actor=actor, reason="Closed")


def query_requery(*, actor: Any, query: DataQuery, text: str, now: datetime) -> DataQuery:
    role = _opener_check(actor, query, "re-query")
    body = _text(text, "follow-up question")
    _refuse_if_trial_locked(query.trial_id)
    with transaction.atomic():
        locked = _locked_query(query)
        if locked.status != QueryStatus.ANSWERED:
            raise InvalidTransitionError("Only an answered query is re-queried.")
        locked.status = QueryStatus.OPEN
        locked.response_code = ""
        locked.correction_history_id = None
        _message(locked, QueryAction.REQUERY, actor, role, body, now)
        return audited_save(locked, actor=actor, reason="Re-queried")


def query_reopen(*, actor: Any, query: DataQuery, text: str, now: datetime) -> DataQuery:
    role = require_role(
        actor,
        trial=query.trial,
        site=query.site,
        roles=REOPENER_ROLES,
        action=gettext_noop("re-open queries"),
    )
    body = _text(text, "reason for re-opening")
    _refuse_if_trial_locked(query.trial_id)
    with transaction.atomic():
        locked = _locked_query(query)
        if locked.status != QueryStatus.CLOSED:
            raise InvalidTransitionError("Only a closed query is re-opened.")
        locked.status = QueryStatus.OPEN
        locked.closed_at = None
        locked.response_code = ""
        locked.correction_history_id = None
        _message(locked, QueryAction.REOPEN, actor, role, body, now)
        return audited_save(locked, actor=actor, reason="Re-opened")

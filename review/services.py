"""Writes for monitor review: the query workflow, source data verification, e-signatures,
locks, and what a change to form data voids."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpRequest

from ecrf.access import QUERY_OPENER_ROLES, SITE_STAFF_ROLES, Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from review.locks import LockedError
from review.models import (
    SIGNATURE_MEANING,
    DataQuery,
    Lock,
    LockLevel,
    QueryAction,
    QueryMessage,
    QueryStatus,
    ResponseCode,
    Signature,
    SignatureScope,
    SourceVerification,
)
from trials.access import require_role, user_roles
from trials.definitions import definition_of
from trials.models import Participant, Site, Trial

REOPENER_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER})
SDV_ROLES = frozenset({Role.MONITOR})
LOCK_ROLES = frozenset({Role.DATA_MANAGER})


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


def _record_ref(record: Any) -> dict[str, Any]:
    return {
        "content_type": ContentType.objects.get_for_model(type(record)),
        "object_id": record.pk,
    }


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
    query: DataQuery, action: str, actor: Any, role: str, text: str, now: datetime, code: str = ""
) -> None:
    QueryMessage.objects.create(
        query=query, action=action, actor=actor, role=role, text=text, response_code=code, at=now
    )


# Queries ----------------------------------------------------------------------------------


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
        roles=QUERY_OPENER_ROLES,
        action="open queries",
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


def automatic_query_key(form_code: str, record: Any, warning: dict[str, str]) -> str:
    """What makes one warning on one form one automatic query, whoever raises it."""
    return f"auto:{form_code}:{record.pk}:{warning['field']}:{warning['message']}"[:200]


def automatic_query(
    *,
    form_code: str,
    record: Any,
    warning: dict[str, str],
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
        text=warning["message"],
        content_type=content_type,
        object_id=record.pk,
    )


def queries_from_warnings(
    *, actor: Any, form_code: str, record: Any, now: datetime
) -> list[DataQuery]:
    """Every soft edit-check warning kept on a form becomes an automatic query, once."""
    created = []
    for warning in record.warnings or []:
        key = automatic_query_key(form_code, record, warning)
        if DataQuery.objects.filter(source_key=key).exists():
            continue
        query = audited_save(
            automatic_query(
                form_code=form_code,
                record=record,
                warning=warning,
                actor=actor,
                now=now,
                content_type=ContentType.objects.get_for_model(type(record)),
            ),
            actor=actor,
        )
        _message(query, QueryAction.OPEN, actor, "system", warning["message"], now)
        created.append(query)
    return created


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
        actor, trial=query.trial, site=query.site, roles=SITE_STAFF_ROLES, action="answer queries"
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
        _message(locked, QueryAction.CLOSE, actor, role, text.strip() or "Closed", now)
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
        actor, trial=query.trial, site=query.site, roles=REOPENER_ROLES, action="re-open queries"
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


# Source data verification -------------------------------------------------------------------


def sdv_plan(participant: Participant) -> set[str] | None:
    """The forms the protocol wants verified; None means every form (100% SDV)."""
    parameter = definition_of(participant.protocol_version).parameters.get("sdv_forms")
    if parameter is None or str(parameter.value).strip().lower() in ("", "all"):
        return None
    return {code.strip() for code in str(parameter.value).split(",") if code.strip()}


def sdv_verify(*, actor: Any, form_code: str, record: Any, now: datetime) -> SourceVerification:
    participant = record.participant
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SDV_ROLES,
        action="verify source data",
    )
    plan = sdv_plan(participant)
    if plan is not None and form_code not in plan:
        raise DomainError(f"The protocol's SDV plan does not include {form_code}.")
    if record.entry_status != "entered":
        raise InvalidTransitionError("Only entered data are verified.")
    with transaction.atomic():
        current = SourceVerification.objects.filter(
            voided_at__isnull=True, **_record_ref(record)
        ).first()
        if current is not None and current.row_version == record.row_version:
            return current
        return audited_save(
            SourceVerification(
                participant=participant,
                form_code=form_code,
                verified_by=actor,
                verified_at=now,
                row_version=record.row_version,
                **_record_ref(record),
            ),
            actor=actor,
        )


# E-signatures -------------------------------------------------------------------------------


def signature_sign(
    *,
    actor: Any,
    request: HttpRequest | None,
    password: str,
    participant: Participant,
    scope: str,
    form_code: str = "",
    record: Any = None,
    visit: Any = None,
    now: datetime,
) -> Signature:
    """The investigator signs after entering their password again; a wrong password is
    refused and counts towards the account lockout."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles={Role.INVESTIGATOR},
        action="sign",
    )
    if scope not in SignatureScope.values:
        raise DomainError(
            "Sign a form, a visit or a casebook.", fields={"scope": ["Unknown scope."]}
        )
    # The lockout counts failures per request; a signature made outside a web request (a
    # job, a shell) still has its wrong passwords counted, against the same account.
    if authenticate(request or HttpRequest(), username=actor.username, password=password) is None:
        raise DomainError(
            "The password is not correct; nothing was signed.", fields={"password": ["Incorrect."]}
        )
    ref: dict[str, Any] = {}
    if scope == SignatureScope.FORM:
        if record is None or record.participant_id != participant.pk:
            raise DomainError("Name the form to sign.")
        ref = {"form_code": form_code, **_record_ref(record)}
    elif scope == SignatureScope.VISIT:
        if visit is None or visit.participant_id != participant.pk:
            raise DomainError("Name the visit to sign.")
        ref = {"visit": visit}
    with transaction.atomic():
        return audited_save(
            Signature(
                participant=participant,
                scope=scope,
                signer=actor,
                printed_name=actor.display_name(),
                meaning=SIGNATURE_MEANING,
                signed_at=now,
                **ref,
            ),
            actor=actor,
        )


def review_record_changed(*, actor: Any, record: Any, now: datetime) -> None:
    """A change to form data voids the verification and the signatures that covered it."""
    reason = f"Data changed after verification or signature (version {record.row_version})"
    ref = _record_ref(record)
    for sdv in SourceVerification.objects.select_for_update().filter(voided_at__isnull=True, **ref):
        sdv.voided_at, sdv.void_reason = now, reason
        audited_save(sdv, actor=actor, reason=reason)
    signatures = Signature.objects.select_for_update().filter(
        participant_id=record.participant_id, voided_at__isnull=True
    )
    covering = signatures.filter(scope=SignatureScope.CASEBOOK) | signatures.filter(
        scope=SignatureScope.FORM, **ref
    )
    if getattr(record, "visit_id", None):
        covering = covering | signatures.filter(
            scope=SignatureScope.VISIT, visit_id=record.visit_id
        )
    for signature in covering:
        signature.voided_at, signature.void_reason = now, reason
        audited_save(signature, actor=actor, reason=reason)


# Locks --------------------------------------------------------------------------------------


def _lock_target(
    level: str,
    trial: Trial,
    *,
    site: Site | None,
    participant: Participant | None,
    form_code: str,
    record: Any,
) -> dict[str, Any]:
    """The fields naming what a lock of `level` holds, checked to belong to `trial`."""
    target: dict[str, Any] = {}
    if level == LockLevel.SITE:
        if site is None or site.trial_id != trial.pk:
            raise DomainError("Name a site of this trial.")
        target = {"site": site}
    elif level == LockLevel.PARTICIPANT:
        if participant is None or participant.trial_id != trial.pk:
            raise DomainError("Name a participant of this trial.")
        target = {"participant": participant, "site_id": participant.site_id}
    elif level == LockLevel.FORM:
        if record is None or record.participant.trial_id != trial.pk:
            raise DomainError("Name a form of this trial.")
        target = {
            "participant_id": record.participant_id,
            "site_id": record.participant.site_id,
            "form_code": form_code,
            **_record_ref(record),
        }
    elif level != LockLevel.TRIAL:
        raise DomainError(
            "Lock a form, a participant, a site or the trial.", fields={"level": ["Unknown level."]}
        )
    return target


def lock_apply(
    *,
    actor: Any,
    level: str,
    trial: Trial,
    reason: str,
    now: datetime,
    site: Site | None = None,
    participant: Participant | None = None,
    form_code: str = "",
    record: Any = None,
) -> Lock:
    require_role(actor, trial=trial, roles=LOCK_ROLES, action="lock data")
    if not reason.strip():
        raise DomainError("Give the reason for the lock.", fields={"reason": ["Required."]})
    target = _lock_target(
        level, trial, site=site, participant=participant, form_code=form_code, record=record
    )
    with transaction.atomic():
        same = Lock.objects.filter(
            trial=trial,
            level=level,
            unlocked_at__isnull=True,
            **{
                k: v
                for k, v in target.items()
                if k in ("site", "participant", "content_type", "object_id")
            },
        )
        if (existing := same.first()) is not None:
            return existing
        lock = audited_save(
            Lock(
                level=level,
                trial=trial,
                locked_by=actor,
                locked_at=now,
                reason=reason.strip(),
                **target,
            ),
            actor=actor,
            reason=reason,
        )
        if level == LockLevel.TRIAL:
            _mirror_trial_lock(trial.pk, actor=actor, reason="Trial database locked")
        return lock


def lock_release(*, actor: Any, lock: Lock, reason: str, now: datetime) -> Lock:
    require_role(actor, trial=lock.trial, roles=LOCK_ROLES, action="unlock data")
    if not reason.strip():
        raise DomainError("Give the reason for unlocking.", fields={"reason": ["Required."]})
    with transaction.atomic():
        locked = Lock.objects.select_for_update().get(pk=lock.pk)
        if locked.unlocked_at is not None:
            raise InvalidTransitionError("This lock is already released.")
        locked.unlocked_by, locked.unlocked_at, locked.unlock_reason = actor, now, reason.strip()
        released = audited_save(locked, actor=actor, reason=reason)
        if locked.level == LockLevel.TRIAL:
            _mirror_trial_lock(locked.trial_id, actor=actor, reason="Trial database unlocked")
        return released


def _mirror_trial_lock(trial_id: int, *, actor: Any, reason: str) -> None:
    """Copy the trial's lock state onto `Trial.locked_at`, in the caller's transaction: the
    blinding gate (in trials, below review) reads it there. The earliest active trial lock
    counts; none leaves it empty. The lock's own history holds the reason."""
    trial = Trial.objects.select_for_update().get(pk=trial_id)
    since = (
        Lock.objects.filter(trial_id=trial_id, level=LockLevel.TRIAL, unlocked_at__isnull=True)
        .order_by("locked_at")
        .values_list("locked_at", flat=True)
        .first()
    )
    if trial.locked_at != since:
        trial.locked_at = since
        audited_save(trial, actor=actor, reason=reason, update_fields=["locked_at"])


def trial_is_locked(trial: Trial) -> bool:
    return Lock.objects.filter(
        trial=trial, level=LockLevel.TRIAL, unlocked_at__isnull=True
    ).exists()

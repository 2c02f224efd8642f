"""Entering and changing case report forms: one save with edit checks, derivations, versions
and what the save changes beside the form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from accounts.services import system_actor
from assessments.forms_kit import AT_A_VISIT, FormScope, FormType
from assessments.models import EntryStatus, Infusion, SledaiAssessment
from assessments.rules.base import Checks, FormContext
from assessments.rules.conmed import CONMED
from assessments.rules.end_of_study import END_OF_STUDY
from assessments.rules.infusion import INFUSION
from assessments.rules.labs import LABS
from assessments.rules.renal import RENAL
from assessments.rules.sledai import SLEDAI
from assessments.services.renal import renal_responses_recompute
from assessments.services.visits import visit_record
from ecrf.access import SITE_STAFF_ROLES
from ecrf.audit import audited_save
from ecrf.errors import (
    ConflictError,
    DomainError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from ecrf.site_time import local_date
from review.locks import active_lock_of_records, require_unlocked, saved_as_checked
from review.services.queries import automatic_queries_of_records, queries_from_warnings
from review.services.records import review_marks_of_records, review_record_changed
from trials.access import require_role, user_roles
from trials.definitions import definition_of
from trials.models import Participant
from trials.services.participants import first_consent_date, require_consent
from visits.models import Visit


def _context(
    participant: Participant,
    visit: Visit | None,
    now: datetime,
    roles: frozenset[str],
    stored: Mapping[str, Any],
) -> FormContext:
    # The consents were read with the locked participant (see `_lock_participant`).
    return FormContext(
        participant=participant,
        visit=visit,
        definition=definition_of(visit.protocol_version if visit else participant.protocol_version),
        now=now,
        consent_date=first_consent_date(participant),
        actor_roles=roles,
        stored=stored,
    )


def _actor_roles(
    actor: Any, ftype: FormType, participant: Participant, names: list[str]
) -> frozenset[str]:
    """The actor's roles, after checking they may enter every field they send."""
    if getattr(actor, "is_system", False):
        return frozenset({"system"})
    roles = frozenset(user_roles(actor, participant.trial, participant.site))
    allowed_somewhere = set(ftype.editors).union(*ftype.field_editors.values())
    if not roles & allowed_somewhere:
        raise PermissionDeniedError(
            gettext("Your role does not allow you to enter %(form)s.")
            % {"form": gettext(ftype.label)}
        )
    refused = [name for name in names if not roles & ftype.field_editors.get(name, ftype.editors)]
    if refused:
        raise PermissionDeniedError(
            gettext("Your role does not allow you to enter %(fields)s on %(form)s.")
            % {"fields": ", ".join(refused), "form": gettext(ftype.label)},
            fields={name: [gettext("Not for your role.")] for name in refused},
        )
    return roles


def _check_visit(ftype: FormType, participant: Participant, visit: Visit | None) -> None:
    if ftype.scope in AT_A_VISIT:
        if visit is None:
            raise DomainError(
                gettext("%(form)s is entered at a visit.") % {"form": gettext(ftype.label)}
            )
        if visit.participant_id != participant.pk:
            raise DomainError(gettext("The visit belongs to another participant."))
        if ftype.code not in visit.forms:
            raise DomainError(
                gettext("Visit %(visit)s does not collect %(form)s.")
                % {"visit": visit.code, "form": gettext(ftype.label)}
            )
    elif visit is not None and visit.participant_id != participant.pk:
        raise DomainError(gettext("The visit belongs to another participant."))


def _lock_participant(participant: Participant) -> Participant:
    """The participant row locked for the save, read with what the checks and derivations of
    every form read of it: its site (zone), protocol version and consents. Only the
    participant's own row is locked (`of`), not its site's or protocol version's. Consents
    the caller read with the participant in this request are taken over: they are never
    removed, so those read are there still."""
    locked = (
        Participant.objects.select_for_update(of=("self",))
        .select_related("site", "protocol_version")
        .get(pk=participant.pk)
    )
    read = getattr(participant, "_prefetched_objects_cache", {}).get("consents")
    if read is not None:
        locked._prefetched_objects_cache = {"consents": read}  # type: ignore[attr-defined]
    else:
        prefetch_related_objects([locked], "consents")
    return locked


def _locked_existing(
    ftype: FormType,
    participant: Participant,
    visit: Visit | None,
    record_id: int | None,
    *,
    lock: bool = True,
) -> Any:
    manager = (
        _with_review_state(ftype.model.objects.select_for_update(), participant)
        if lock
        else ftype.model.objects.all()
    )
    if ftype.scope == FormScope.VISIT:
        return manager.filter(visit=visit).first()
    if ftype.scope == FormScope.PARTICIPANT:
        return manager.filter(participant=participant).first()
    if record_id is None:
        return None
    found = manager.filter(pk=record_id, participant=participant).first()
    if found is None:
        raise DomainError(
            gettext("There is no such %(form)s record for this participant.")
            % {"form": gettext(ftype.label)}
        )
    return found


def _with_review_state(records: QuerySet[Any], participant: Participant) -> QuerySet[Any]:
    """Records of `participant` read with what a save of them must know of their review, in
    the statement that locks them: the lock holding them (`active_lock_id`), whether a
    verification or signature covers them (`review_marked`), whether they have automatic
    queries (`any_automatic`). Read under the participant's row lock, in the save's
    transaction, as the save would look for them later."""
    return records.annotate(
        active_lock_id=active_lock_of_records(participant, records.model),
        review_marked=review_marks_of_records(participant.pk, records.model),
        any_automatic=automatic_queries_of_records(records.model),
    )


def _locked_record(ftype: FormType, participant: Participant, record_id: int) -> Any:
    """The participant's record `record_id`, locked, read once with its visit. The visit's
    protocol version, which its checks read, is the participant's in hand when they are the
    same (as they are but for a visit held under an earlier version). Only the record's row is
    locked (`of`)."""
    records = _with_review_state(
        ftype.model.objects.filter(pk=record_id, participant=participant), participant
    )
    if _has_visit(ftype):
        records = records.select_related("visit").select_for_update(of=("self",))
    else:
        records = records.select_for_update()
    found = records.first()
    if found is None:
        raise NotFoundError(gettext("No such %(form)s record.") % {"form": gettext(ftype.label)})
    visit = found.visit if _has_visit(ftype) else None
    if visit is not None and visit.protocol_version_id == participant.protocol_version_id:
        visit.protocol_version = participant.protocol_version
    return found


def _has_visit(ftype: FormType) -> bool:
    return any(field.name == "visit" for field in ftype.model._meta.concrete_fields)


def _as_entered(
    ftype: FormType,
    participant: Participant,
    visit: Visit | None,
    existing: Any,
    data: dict[str, Any],
    now: datetime,
) -> Any:
    """The record with `data` entered: the existing one at its next version, or a new one."""
    if existing is None:
        instance = ftype.model(
            participant=participant,
            visit=visit,
            protocol_version=visit.protocol_version if visit else participant.protocol_version,
            entered_at=now,
            row_version=1,
        )
    else:
        instance = existing
        instance.row_version += 1
    for name, value in data.items():
        setattr(instance, name, value)
    return instance


def _check_not_entered(ftype: FormType, existing: Any, expected_version: int | None) -> None:
    """A first entry (no version read) of a once-per-visit form the visit already has is
    refused: the caller changes that one instead."""
    if ftype.scope == FormScope.VISIT and existing is not None and expected_version is None:
        raise ConflictError(
            gettext("%(form)s is already entered at this visit; change it instead.")
            % {"form": gettext(ftype.label)}
        )


def _check_version(existing: Any, expected_version: int | None) -> None:
    if existing is not None and expected_version != existing.row_version:
        raise ConflictError(
            gettext(
                "Someone saved this form after you opened it (you had version %(yours)s, it is "
                "now %(now)s). Reload it and apply your change again."
            )
            % {"yours": expected_version, "now": existing.row_version}
        )


def form_save(
    *,
    actor: Any,
    ftype: FormType,
    participant: Participant,
    data: dict[str, Any],
    visit: Visit | None = None,
    record_id: int | None = None,
    at_its_visit: bool = False,
    participant_locked: bool = False,
    expected_version: int | None = None,
    reason: str = "",
    now: datetime,
) -> Any:
    """Enter or change a form. A change after first entry needs the version read and a reason.
    `at_its_visit` changes the record `record_id` at the visit it was entered at, read with it
    under lock (no `visit` is passed): a record not found is not found. `participant_locked`:
    the caller read the participant locked in the transaction it has open
    (`participant_get_for_update`), which the save joins instead of a savepoint of its own: an
    error refuses the caller's whole transaction."""
    roles = _actor_roles(actor, ftype, participant, list(data))
    unknown = sorted(set(data) - set(ftype.fields))
    if unknown:
        raise DomainError(
            gettext("%(form)s has no field(s) %(fields)s.")
            % {"form": gettext(ftype.label), "fields": ", ".join(unknown)},
            fields={name: [gettext("Unknown field.")] for name in unknown},
        )
    if not at_its_visit:
        _check_visit(ftype, participant, visit)
    if participant_locked and not transaction.get_connection().in_atomic_block:
        raise ValueError("A participant locked by the caller is locked in its transaction.")
    with transaction.atomic(savepoint=not participant_locked):
        locked = participant if participant_locked else _lock_participant(participant)
        require_consent(locked)
        if at_its_visit:
            if record_id is None or visit is not None:
                raise ValueError("A change at its visit names the record, not the visit.")
            existing = _locked_record(ftype, locked, record_id)
            visit = existing.visit if _has_visit(ftype) else None
            _check_visit(ftype, locked, visit)
        else:
            existing = _locked_existing(ftype, locked, visit, record_id)
        if existing is not None:
            # The rows in hand: the record's checks, explanation and answer read them, and
            # its save need not read them again to know that they exist.
            existing.participant = locked
            if visit is not None and existing.visit_id == visit.pk:
                existing.visit = visit
            for source in (visit, locked):
                if source is not None and existing.protocol_version_id == (
                    source.protocol_version_id
                ):
                    existing.protocol_version = source.protocol_version
                    break
        # Locked is what the user is told first: reloading would not help.
        require_unlocked(locked, existing, lock_id=existing.active_lock_id if existing else ...)
        _check_not_entered(ftype, existing, expected_version)
        _check_version(existing, expected_version)
        before = {name: getattr(existing, name) for name in ftype.derived} if existing else {}
        stored = {name: getattr(existing, name) for name in ftype.fields} if existing else {}
        instance = _as_entered(ftype, locked, visit, existing, data, now)
        ctx = _context(locked, visit, now, roles, stored)
        checks = form_checks(ftype, instance, ctx)
        if checks.errors:
            raise DomainError(gettext("Please correct the fields shown."), fields=checks.errors)
        ftype.derive(instance, ctx)
        instance.warnings = checks.warnings
        instance.entry_status = EntryStatus.ENTERED
        instance.not_done_reason = ""
        instance.updated_at = now
        try:
            # The locks were looked for above, in this transaction, under the participant's
            # row lock: the guard of every write need not look again.
            with saved_as_checked(instance):
                saved = audited_save(
                    instance,
                    actor=actor,
                    reason=reason,
                    require_reason=existing is not None,
                    constraints_checked=ftype.checked_constraints,
                )
        except DjangoValidationError as error:
            raise DomainError.from_validation_error(error) from None
        _update_dependents(saved, ftype, ctx, actor=actor, now=now)
        _review_after_change(saved, ftype, existing, actor=actor, now=now)
        ftype.after_save(saved, before=before, actor=actor, now=now)
        _strike_pending(ftype, locked, visit)
        return saved


def form_checks(ftype: FormType, instance: Any, ctx: FormContext) -> Checks:
    """The edit checks of a form as entered: required fields first, then the form's own hard
    checks (errors) and soft checks (warnings, kept on the form)."""
    checks = Checks()
    for name in ftype.required:
        if getattr(instance, name, None) in (None, ""):
            checks.error(name, gettext("Required."))
    if not checks.errors:
        ftype.validate(instance, ctx, checks)
    return checks


@dataclass(frozen=True)
class FormPreview:
    """What a save would give: the record with its derived values (set only when no check
    failed), the errors that would refuse it and the warnings that would be kept."""

    record: Any
    errors: dict[str, list[str]]
    warnings: list[dict[str, Any]]


def form_preview(
    *,
    actor: Any,
    ftype: FormType,
    participant: Participant,
    data: dict[str, Any],
    visit: Visit | None = None,
    record_id: int | None = None,
    now: datetime,
) -> FormPreview:
    """The edit checks and derived values a save of `data` would give, by the same rules and in
    the same order as `form_save`, for an actor who may enter the form. Nothing is written: the
    work runs in a transaction that is always rolled back, and no row is locked."""
    roles = _actor_roles(actor, ftype, participant, list(data))
    data = {name: value for name, value in data.items() if name in ftype.fields}
    _check_visit(ftype, participant, visit)
    with transaction.atomic():
        try:
            existing = _locked_existing(ftype, participant, visit, record_id, lock=False)
            stored = {name: getattr(existing, name) for name in ftype.fields} if existing else {}
            instance = _as_entered(ftype, participant, visit, existing, data, now)
            ctx = _context(participant, visit, now, roles, stored)
            checks = form_checks(ftype, instance, ctx)
            if not checks.errors:
                ftype.derive(instance, ctx)
        finally:
            transaction.set_rollback(True)
    return FormPreview(record=instance, errors=checks.errors, warnings=checks.warnings)


def form_not_done(
    *,
    actor: Any,
    ftype: FormType,
    participant: Participant,
    visit: Visit,
    reason: str,
    expected_version: int | None = None,
    now: datetime,
) -> Any:
    """Record that an expected form was not done, and why."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=ftype.editors,
        action=gettext("enter %(form)s") % {"form": gettext(ftype.label)},
    )
    if ftype.scope != FormScope.VISIT:
        raise InvalidTransitionError(
            gettext("%(form)s is not a once-per-visit form; nothing to mark not done.")
            % {"form": gettext(ftype.label)}
        )
    if not reason.strip():
        raise DomainError(
            gettext("Say why the form was not done."), fields={"reason": [gettext("Required.")]}
        )
    _check_visit(ftype, participant, visit)
    with transaction.atomic():
        existing = _locked_existing(ftype, participant, visit, None)
        require_unlocked(
            participant, existing, lock_id=existing.active_lock_id if existing else ...
        )
        _check_version(existing, expected_version)
        if existing is not None and existing.entry_status == EntryStatus.ENTERED:
            raise InvalidTransitionError(
                gettext("%(form)s has data; correct the data instead of marking it not done.")
                % {"form": gettext(ftype.label)}
            )
        instance = existing or ftype.model(
            participant=participant,
            visit=visit,
            protocol_version=visit.protocol_version,
            entered_at=now,
        )
        if existing is not None:
            instance.row_version += 1
        instance.entry_status = EntryStatus.NOT_DONE
        instance.not_done_reason = reason.strip()
        instance.updated_at = now
        saved = audited_save(instance, actor=actor, reason=reason, require_reason=False)
        _review_after_change(saved, ftype, existing, actor=actor, now=now)
        _strike_pending(ftype, participant, visit)
        return saved


def _strike_pending(ftype: FormType, participant: Participant, visit: Visit | None) -> None:
    """A form now has a record: strike it off the pending forms of its visit, or of every visit
    of the participant for a once-per-participant form. A visit whose row in hand no longer
    lists it costs no query; a lost race leaves it listed, which only costs the home page a
    check."""
    if ftype.scope in AT_A_VISIT and visit is not None:
        pending = [(visit.pk, visit.forms_pending)]
    elif ftype.scope == FormScope.PARTICIPANT:
        pending = list(
            Visit.objects.filter(participant=participant).values_list("pk", "forms_pending")
        )
    else:
        return
    for pk, codes in pending:
        if ftype.code in codes:
            left = [code for code in codes if code != ftype.code]
            Visit.objects.filter(pk=pk).update(forms_pending=left)
            if visit is not None and visit.pk == pk:
                visit.forms_pending = left


def _update_dependents(
    record: Any, ftype: FormType, ctx: FormContext, *, actor: Any, now: datetime
) -> None:
    """What a saved form changes beside itself, in the same transaction: the renal responses
    read the baseline assessment, the treatment failures the others record, the medication log
    and a death on the end-of-study form; a given infusion dates its visit; the visit's
    SLEDAI-2K is checked again against changed laboratory or renal results."""
    if ftype.code in (LABS.code, RENAL.code) and record.visit_id is not None:
        sledai_recheck(visit=record.visit, ctx=ctx, now=now)
    recompute_reason = {
        RENAL.code: "Recomputed: baseline changed",
        CONMED.code: "Recomputed: concomitant medication changed",
        END_OF_STUDY.code: "Recomputed: end of study changed (death is treatment failure)",
    }.get(ftype.code)
    if recompute_reason is not None:
        renal_responses_recompute(
            participant=ctx.participant,
            actor=actor,
            now=now,
            reason=recompute_reason,
            # The renal assessment saved has its response derived already.
            exclude_pk=record.pk if ftype.code == RENAL.code else None,
        )
    if ftype.code == INFUSION.code:
        _infusion_visit_record(record, ctx, actor=actor, now=now)
        # The adverse events' DLT flags read the infusion days; safety sits above.
        recompute = import_string(settings.DOSE_LIMITING_RECOMPUTE)
        recompute(participant=ctx.participant, actor=actor, now=now)


def sledai_recheck(*, visit: Visit, ctx: FormContext, now: datetime) -> None:
    """Run the checks of the visit's SLEDAI-2K again after its laboratory or renal results
    changed: the warnings kept on it follow, and so do their automatic queries (opened, or
    closed once the results or the ticks agree). The SLEDAI-2K data are not changed, so its
    version, verification and signatures stand."""
    record = (
        SledaiAssessment.objects.select_for_update()
        .filter(visit=visit, entry_status=EntryStatus.ENTERED)
        .first()
    )
    if record is None:
        return
    checks = form_checks(SLEDAI, record, ctx)
    if checks.errors or checks.warnings == (record.warnings or []):
        return
    SledaiAssessment.objects.filter(pk=record.pk).update(warnings=checks.warnings)
    record.warnings = checks.warnings
    queries_from_warnings(actor=_system(), form_code=SLEDAI.code, record=record, now=now)


def _infusion_visit_record(
    infusion: Infusion, ctx: FormContext, *, actor: Any, now: datetime
) -> None:
    """A given infusion completes its visit on the infusion date, which freezes Day 0."""
    if not infusion.given or infusion.start_time is None:
        return
    recorder = actor if ctx.actor_roles & SITE_STAFF_ROLES else system_actor()
    visit_record(
        actor=recorder,
        visit=infusion.visit,
        actual_date=local_date(infusion.start_time, ctx.participant.site.time_zone),
        reason="Date of the study infusion recorded",
        now=now,
    )


def _review_after_change(
    record: Any, ftype: FormType, existing: Any, *, actor: Any, now: datetime
) -> None:
    """A change voids the verification and signatures covering the record, and each kept
    warning becomes an automatic query for the site. Of a record `existing` before the save,
    what the save found when it read and locked it (`_with_review_state`) is not looked for
    again."""
    review_record_changed(
        actor=actor,
        record=record,
        now=now,
        marked=existing.review_marked if existing is not None else None,
    )
    queries_from_warnings(
        actor=_system(),
        form_code=ftype.code,
        record=record,
        now=now,
        any_automatic=existing.any_automatic if existing is not None else True,
    )


def _system() -> Any:
    """The system account, read only when an automatic query is written in its name."""
    return SimpleLazyObject(system_actor)

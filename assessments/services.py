"""Writes for case report forms: one generic save with edit checks, derivations and versions,
and the record of arm reads through allocation-revealing fields."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from assessments.models import EntryStatus
from assessments.registry import FormType, form_type
from assessments.rules.base import Checks, FormContext
from assessments.selectors import form_unblinding, revealing_fields
from ecrf.audit import audited_save
from ecrf.errors import ConflictError, DomainError, InvalidTransitionError, PermissionDeniedError
from review.locks import require_unlocked
from trials.access import require_role, user_roles
from trials.definitions import definition_of
from trials.models import AllocationRead, Participant, ReadChannel
from trials.services import arm_read_record
from trials.services.participants import require_consent
from visits.models import Visit


def _context(
    participant: Participant, visit: Visit | None, now: datetime, roles: frozenset[str]
) -> FormContext:
    first_consent = participant.consents.order_by("consent_date").first()
    return FormContext(
        participant=participant,
        visit=visit,
        definition=definition_of(visit.protocol_version if visit else participant.protocol_version),
        now=now,
        consent_date=first_consent.consent_date if first_consent else None,
        actor_roles=roles,
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
        raise PermissionDeniedError(f"Your role does not allow you to enter {ftype.label}.")
    refused = [name for name in names if not roles & ftype.field_editors.get(name, ftype.editors)]
    if refused:
        raise PermissionDeniedError(
            f"Your role does not allow you to enter {', '.join(refused)} on {ftype.label}.",
            fields={name: ["Not for your role."] for name in refused},
        )
    return roles


def _check_visit(ftype: FormType, participant: Participant, visit: Visit | None) -> None:
    if ftype.scope in ("visit", "repeating"):
        if visit is None:
            raise DomainError(f"{ftype.label} is entered at a visit.")
        if visit.participant_id != participant.pk:
            raise DomainError("The visit belongs to another participant.")
        if ftype.code not in visit.forms:
            raise DomainError(f"Visit {visit.code} does not collect {ftype.label}.")
    elif visit is not None and visit.participant_id != participant.pk:
        raise DomainError("The visit belongs to another participant.")


def _locked_existing(
    ftype: FormType, participant: Participant, visit: Visit | None, record_id: int | None
) -> Any:
    manager = ftype.model.objects.select_for_update()
    if ftype.scope == "visit":
        return manager.filter(visit=visit).first()
    if ftype.scope == "participant":
        return manager.filter(participant=participant).first()
    if record_id is None:
        return None
    found = manager.filter(pk=record_id, participant=participant).first()
    if found is None:
        raise DomainError(f"There is no such {ftype.label} record for this participant.")
    return found


def _check_version(existing: Any, expected_version: int | None) -> None:
    if existing is not None and expected_version != existing.row_version:
        raise ConflictError(
            "Someone saved this form after you opened it (you had version "
            f"{expected_version}, it is now {existing.row_version}). Reload it and apply your "
            "change again."
        )


def form_save(
    *,
    actor: Any,
    form_code: str,
    participant: Participant,
    data: dict[str, Any],
    visit: Visit | None = None,
    record_id: int | None = None,
    expected_version: int | None = None,
    reason: str = "",
    now: datetime,
) -> Any:
    """Enter or change a form. A change after first entry needs the version read and a reason."""
    ftype = form_type(form_code)
    roles = _actor_roles(actor, ftype, participant, list(data))
    unknown = sorted(set(data) - set(ftype.fields))
    if unknown:
        raise DomainError(
            f"{ftype.label} has no field(s) {', '.join(unknown)}.",
            fields={name: ["Unknown field."] for name in unknown},
        )
    _check_visit(ftype, participant, visit)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        require_consent(locked)
        existing = _locked_existing(ftype, locked, visit, record_id)
        require_unlocked(locked, existing)
        _check_version(existing, expected_version)
        if existing is None:
            instance = ftype.model(
                participant=locked,
                visit=visit,
                protocol_version=visit.protocol_version if visit else locked.protocol_version,
                entered_at=now,
                row_version=1,
            )
        else:
            instance = existing
            instance.row_version += 1
        for name, value in data.items():
            setattr(instance, name, value)
        ctx = _context(locked, visit, now, roles)
        checks = form_checks(ftype, instance, ctx)
        if checks.errors:
            raise DomainError("Please correct the fields shown.", fields=checks.errors)
        ftype.derive(instance, ctx)
        instance.warnings = checks.warnings
        instance.entry_status = EntryStatus.ENTERED
        instance.not_done_reason = ""
        instance.updated_at = now
        try:
            saved = audited_save(
                instance, actor=actor, reason=reason, require_reason=existing is not None
            )
        except DjangoValidationError as error:
            raise DomainError.from_validation_error(error) from None
        ftype.after_save(saved, ctx, actor=actor, now=now)
        _review_after_change(saved, ftype, actor=actor, now=now)
        return saved


def form_checks(ftype: FormType, instance: Any, ctx: FormContext) -> Checks:
    """The edit checks of a form as entered: required fields first, then the form's own hard
    checks (errors) and soft checks (warnings, kept on the form)."""
    checks = Checks()
    for name in ftype.required:
        if getattr(instance, name, None) in (None, ""):
            checks.error(name, "Required.")
    if not checks.errors:
        ftype.validate(instance, ctx, checks)
    return checks


def form_not_done(
    *,
    actor: Any,
    form_code: str,
    participant: Participant,
    visit: Visit,
    reason: str,
    expected_version: int | None = None,
    now: datetime,
) -> Any:
    """Record that an expected form was not done, and why."""
    ftype = form_type(form_code)
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=ftype.editors,
        action=f"enter {ftype.label}",
    )
    if ftype.scope != "visit":
        raise InvalidTransitionError(
            f"{ftype.label} is not a once-per-visit form; nothing to mark not done."
        )
    if not reason.strip():
        raise DomainError("Say why the form was not done.", fields={"reason": ["Required."]})
    _check_visit(ftype, participant, visit)
    with transaction.atomic():
        existing = _locked_existing(ftype, participant, visit, None)
        require_unlocked(participant, existing)
        _check_version(existing, expected_version)
        if existing is not None and existing.entry_status == EntryStatus.ENTERED:
            raise InvalidTransitionError(
                f"{ftype.label} has data; correct the data instead of marking it not done."
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
        _review_after_change(saved, ftype, actor=actor, now=now)
        return saved


def _review_after_change(record: Any, ftype: FormType, *, actor: Any, now: datetime) -> None:
    """A change voids the verification and signatures covering the record, and each kept
    warning becomes an automatic query for the site."""
    from accounts.services import system_actor
    from review.services import queries_from_warnings, review_record_changed

    review_record_changed(actor=actor, record=record, now=now)
    queries_from_warnings(actor=system_actor(), form_code=ftype.code, record=record, now=now)


def revealing_read_record(
    *,
    user: Any,
    participant: Participant,
    ftypes: Iterable[FormType],
    path: str = "",
    now: datetime,
) -> AllocationRead | None:
    """Record that `user` was shown the allocation-revealing fields of `participant`'s forms
    of `ftypes` in this request: one arm read, on the blinding gate's ground. Nothing is
    recorded for a blinded reader (who was shown none) or forms that reveal nothing."""
    if not any(revealing_fields(ftype, participant) for ftype in ftypes):
        return None
    access = form_unblinding(user, participant, now=now)
    if access is None:
        return None
    return arm_read_record(
        user=user,
        participant=participant,
        access=access,
        channel=ReadChannel.FORM,
        path=path,
        now=now,
    )

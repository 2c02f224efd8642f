"""Actor and reason on every history record, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models.signals import pre_save
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from ecrf.errors import DomainError
from ecrf.history import stamp_actor_names

M = TypeVar("M", bound=models.Model)


class MissingActorError(DomainError):
    """A write to audited data was attempted without saying who made it."""

    code = "missing_actor"


def _is_audited(model: type[models.Model]) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def _request_user(instance: models.Model) -> Any:
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def audited_save(
    instance: M,
    *,
    actor: Any,
    reason: str = "",
    require_reason: bool | None = None,
    update_fields: list[str] | None = None,
    constraints_checked: Collection[str] = (),
) -> M:
    """Validate and save `instance`, stamping its history record with `actor` and `reason`.

    A change to a row that already exists needs a reason unless `require_reason=False`
    says the change is a system transition that carries its own explanation. The model's
    constraints named in `constraints_checked` are not validated: the caller has checked
    them in this transaction, in a way no concurrent save can undo before it commits.
    """
    if actor is None or not getattr(actor, "pk", None):
        raise MissingActorError("Every change must name the person or job that made it.")
    needs_reason = instance.pk is not None if require_reason is None else require_reason
    if needs_reason and not reason.strip():
        raise DomainError("A reason for the change is required.", fields={"reason": ["Required."]})
    _full_clean(instance, constraints_checked)
    instance._history_user = actor  # type: ignore[attr-defined]
    instance._change_reason = reason.strip() or "Initial entry"  # type: ignore[attr-defined]
    instance.save(update_fields=update_fields)
    return instance


def _rows_in_hand(instance: models.Model) -> set[str]:
    """The foreign keys of `instance` whose related row is cached on it, as read from the
    database: that the row exists is known without asking again."""
    names = set()
    for field in instance._meta.concrete_fields:
        if not field.many_to_one or not field.is_cached(instance):  # type: ignore[attr-defined]
            continue
        related = field.get_cached_value(instance)  # type: ignore[attr-defined]
        if (
            related is not None
            and not related._state.adding
            and related.pk is not None
            and related.pk == getattr(instance, field.attname)
        ):
            names.add(field.name)
    return names


def _full_clean(instance: models.Model, constraints_checked: Collection[str] = ()) -> None:
    """`full_clean`, except that a foreign key to a row in hand is not looked up to check that
    it exists (one query each; nothing is deleted, and the database checks the key as well),
    and that the constraints `constraints_checked` names are left to the caller, who checked
    them. Its uniqueness and other constraints are still checked, as `full_clean` checks
    them."""
    in_hand = _rows_in_hand(instance)
    errors: dict[str, Any] = {}
    try:
        instance.clean_fields(exclude=in_hand)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        instance.clean()
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        instance.validate_unique(exclude={name for name in errors if name != NON_FIELD_ERRORS})
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        _validate_constraints(
            instance,
            exclude={name for name in errors if name != NON_FIELD_ERRORS},
            checked=constraints_checked,
        )
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _validate_constraints(
    instance: models.Model, *, exclude: set[str], checked: Collection[str]
) -> None:
    """Django's `validate_constraints`, over the model's constraints but those `checked`."""
    if not checked:
        instance.validate_constraints(exclude=exclude)
        return
    every = instance.get_constraints

    def unchecked() -> list[tuple[Any, list[Any]]]:
        return [
            (model, [c for c in constraints if c.name not in checked])
            for model, constraints in every()
        ]

    instance.get_constraints = unchecked  # type: ignore[method-assign, assignment]
    try:
        instance.validate_constraints(exclude=exclude)
    finally:
        del instance.get_constraints


def _guarded(sender: type[models.Model]) -> bool:
    """Whether saves of `sender` pass the write guards: audited models, but not the user model
    (accounts are also created and changed on the command line, createsuperuser and
    changepassword, where no one is signed in; their history then names no actor)."""
    if not _is_audited(sender) or getattr(sender._meta, "auto_created", False):
        return False
    return sender._meta.label != settings.AUTH_USER_MODEL


def _refuse_anonymous_write(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    if not _guarded(sender):
        return
    if getattr(instance, "_history_user", None) is None and _request_user(instance) is None:
        raise MissingActorError(
            f"A change to {sender._meta.verbose_name} was refused: it names no actor."
        )


def install_guard() -> None:
    """Refuse, before anything is written, a save of audited data that names no actor; keep
    the actor's names on every history record."""
    pre_save.connect(_refuse_anonymous_write, dispatch_uid="ecrf.audit.refuse_anonymous_write")
    pre_create_historical_record.connect(
        stamp_actor_names, dispatch_uid="ecrf.audit.stamp_actor_names"
    )


def guard_writes(check: Callable[[Any, Any], None], *, dispatch_uid: str) -> None:
    """Run `check(instance, update_fields)` before every save the actor guard covers, after it:
    a write that names no actor is refused as such before `check` looks at anything."""
    # Connecting the actor guard first (a second call is a no-op) keeps that order whatever
    # the order of the apps that add their checks.
    install_guard()

    def guard(
        sender: type[models.Model], instance: Any, update_fields: Any = None, **_: Any
    ) -> None:
        if _guarded(sender):
            check(instance, update_fields)

    pre_save.connect(guard, dispatch_uid=dispatch_uid, weak=False)

"""Which lock, if any, holds a participant's data; checked before every write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext

from ecrf.errors import DomainError
from review.models import Lock, LockLevel


class LockedError(DomainError):
    status_code = 423
    code = "locked"


# Review records and alerts still move on locked data: a query on a locked form is answered.
UNLOCKED_APPS = frozenset({"review", "alerts"})
# Emergency unblinding is a patient-safety act that no data lock may stop: its event, and the
# participant's unblinded mark written alone, pass. Clinical data stay locked.
UNLOCKED_MODELS = frozenset({"trials.unblindingevent"})
UNLOCKED_FIELDS = {"trials.participant": frozenset({"unblinded_at"})}


def _active_locks(
    *, trial_id: int, site_id: int | None, participant_id: int | None, form: Q | None
) -> QuerySet[Lock]:
    scope = Q(level=LockLevel.TRIAL)
    if site_id is not None:
        scope |= Q(level=LockLevel.SITE, site_id=site_id)
    if participant_id is not None:
        scope |= Q(level=LockLevel.PARTICIPANT, participant_id=participant_id)
    if form is not None:
        scope |= Q(level=LockLevel.FORM) & form
    return Lock.objects.filter(trial_id=trial_id, unlocked_at__isnull=True).filter(scope)


def active_lock(
    *, trial_id: int, site_id: int | None, participant_id: int | None, record: Any = None
) -> Lock | None:
    form = None
    if record is not None and record.pk is not None:
        form = Q(content_type=ContentType.objects.get_for_model(type(record)), object_id=record.pk)
    return _active_locks(
        trial_id=trial_id, site_id=site_id, participant_id=participant_id, form=form
    ).first()


def active_lock_of_records(participant: Any, model: type[Any]) -> RawSQL:
    """For a query of `participant`'s records of `model`: the id of a lock that holds the
    record (of its trial, site, participant or the record itself), None when none does. The
    same locks as `active_lock`, looked for in the query that reads the record, in SQL written
    once per model (tested against `active_lock`)."""
    return RawSQL(  # noqa: S611
        _lock_sql(model._meta.db_table),
        (
            participant.trial_id,
            LockLevel.TRIAL,
            LockLevel.SITE,
            participant.site_id,
            LockLevel.PARTICIPANT,
            participant.pk,
            LockLevel.FORM,
            ContentType.objects.get_for_model(model).pk,
        ),
    )


@cache
def _lock_sql(table: str) -> str:
    # Table names from the models' metadata; every value is a parameter.
    lock = Lock._meta.db_table
    record = connection.ops.quote_name(table)
    return (
        f"SELECT l.id FROM {lock} l WHERE l.trial_id = %s AND l.unlocked_at IS NULL"  # noqa: S608
        " AND (l.level = %s OR (l.level = %s AND l.site_id = %s)"
        " OR (l.level = %s AND l.participant_id = %s)"
        f" OR (l.level = %s AND l.content_type_id = %s AND l.object_id = {record}.id))"
        " ORDER BY l.id LIMIT 1"
    )


def require_unlocked(participant: Any, record: Any = None, *, lock_id: Any = ...) -> None:
    """Refuse a write to the participant's data (and `record`) under an active lock. A caller
    that read the record with `active_lock_of_records`, in its transaction, passes what it
    found as `lock_id`: no lock (None) is not looked for again."""
    if lock_id is None:
        return
    if lock_id is not ...:
        lock = Lock.objects.filter(pk=lock_id).first()
    else:
        lock = active_lock(
            trial_id=participant.trial_id,
            site_id=participant.site_id,
            participant_id=participant.pk,
            record=record,
        )
    if lock is not None:
        raise _locked(lock)


def _locked(lock: Lock) -> LockedError:
    return LockedError(
        gettext(
            "The data are locked (%(level)s lock: %(reason)s); a data manager must unlock them "
            "first."
        )
        % {"level": lock.get_level_display().lower(), "reason": lock.reason}
    )


@contextmanager
def saved_as_checked(instance: Any) -> Iterator[None]:
    """Within the block, the guard lets the save of `instance` pass without looking for its
    locks again: for a service that has just called `require_unlocked` on the record and its
    participant, in the transaction that saves it, with the participant's row locked."""
    instance._locks_checked = True
    try:
        yield
    finally:
        del instance._locks_checked


def refuse_locked_write(instance: Any, update_fields: Any = None) -> None:
    """The guard every save passes: participant data under an active lock do not change."""
    if getattr(instance, "_locks_checked", False):
        return
    meta = type(instance)._meta
    if meta.app_label in UNLOCKED_APPS or meta.label_lower in UNLOCKED_MODELS:
        return
    exempt = UNLOCKED_FIELDS.get(meta.label_lower)
    if exempt and update_fields and set(update_fields) <= exempt:
        return
    from trials.models import Participant

    participant: Participant | None
    if isinstance(instance, Participant):
        if instance.pk is None:
            # A new participant joins a site or trial: refused while either is locked.
            lock = active_lock(
                trial_id=instance.trial_id, site_id=instance.site_id, participant_id=None
            )
            if lock is not None:
                raise _locked(lock)
            return
        participant = instance
    else:
        participant_id = getattr(instance, "participant_id", None)
        participant = _participant_in_hand(instance, participant_id) or (
            Participant.objects.only("trial_id", "site_id").filter(pk=participant_id).first()
            if participant_id
            else None
        )
    if participant is None:
        return
    is_form = hasattr(instance, "row_version")
    require_unlocked(participant, instance if is_form else None)


def _participant_in_hand(instance: Any, participant_id: Any) -> Any:
    """The participant cached on `instance`, when it is the one the row names: its trial and
    site are all the check reads, and neither changes once the participant is registered."""
    field = next((f for f in type(instance)._meta.concrete_fields if f.name == "participant"), None)
    if participant_id is None or field is None or not field.many_to_one:
        return None
    if not field.is_cached(instance):
        return None
    cached = field.get_cached_value(instance)
    return cached if cached is not None and cached.pk == participant_id else None


def without_locked(visits: QuerySet[Any]) -> QuerySet[Any]:
    """Visits whose data are not locked at trial, site or participant level."""
    active = Lock.objects.filter(unlocked_at__isnull=True)
    return (
        visits.exclude(
            participant__trial_id__in=active.filter(level=LockLevel.TRIAL).values("trial_id")
        )
        .exclude(participant__site_id__in=active.filter(level=LockLevel.SITE).values("site_id"))
        .exclude(
            participant_id__in=active.filter(level=LockLevel.PARTICIPANT).values("participant_id")
        )
    )

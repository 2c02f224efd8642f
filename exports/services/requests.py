"""Request an export: check who asks for what, fix its as-of instant and protocol version."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ecrf.audit import audited_save
from ecrf.errors import DomainError, PermissionDeniedError
from exports.base import FORMATS, RAW_LAYOUTS
from exports.models import Export, ExportStatus
from exports.selectors import export_rights
from trials.models import ProtocolVersion, Trial

logger = logging.getLogger(__name__)


def parse_as_of(text: str) -> datetime:
    """An ISO 8601 instant: `2026-03-02T09:30:00+01:00`, `...Z`, or a date alone.

    A time without an offset, or a date alone (meaning 00:00 of that day), is read as UTC.
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError:
            raise DomainError(
                f"{text!r} is not an ISO 8601 date or date and time "
                "(e.g. 2026-03-02 or 2026-03-02T09:30:00+01:00).",
                fields={"as_of": ["Not an ISO 8601 date or date and time."]},
            ) from None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _refuse(actor: Any, trial: Trial, *, unblinded: bool, now: datetime) -> Any:
    """The release that allows the export (None when not needed), or a clear refusal."""
    rights = export_rights(actor, trial, now=now)
    if not rights.blinded:
        raise PermissionDeniedError(
            "Only a statistician of this trial may export its data; your role does not allow it."
        )
    if not unblinded:
        return None
    if getattr(actor, "is_system", False):
        raise PermissionDeniedError(
            "An unblinded export is made only in the name of an unblinded statistician."
        )
    if not rights.unblinded_role:
        raise PermissionDeniedError(
            "Only an unblinded statistician may request an unblinded export; "
            "request a blinded one instead."
        )
    if not rights.unblinded:
        raise PermissionDeniedError(
            "An unblinded export is possible only after the trial is locked, or with a DSMB "
            "release granted to you by a trial administrator."
        )
    return rights.release


def _protocol_version_at(trial: Trial, as_of: datetime) -> ProtocolVersion:
    """The protocol version in force at `as_of`: the newest loaded at or before it."""
    if as_of < trial.created_at:
        raise DomainError(
            f"Trial {trial.code} did not exist yet at {as_of.isoformat()}; it was set up on "
            f"{trial.created_at.astimezone(UTC).isoformat()}.",
            fields={"as_of": ["Before the trial existed."]},
        )
    versions = ProtocolVersion.objects.filter(trial=trial)
    version = versions.filter(loaded_at__lte=as_of).order_by("-number").first()
    if version is None:
        first = versions.order_by("number").first()
        when = f"; its first was loaded on {first.loaded_at.isoformat()}" if first else ""
        raise DomainError(
            f"Trial {trial.code} had no protocol version loaded at {as_of.isoformat()}{when}.",
            fields={"as_of": ["Before the trial's first protocol version."]},
        )
    return version


# The task that runs an export (exports.tasks.run_export), sent by name: the task calls the
# services, so the services do not import it back.
RUN_EXPORT_TASK = "exports.run_export"


def _enqueue(export_id: int) -> None:
    """Send the job to settings.EXPORT_QUEUE when set (long exports can have workers of their
    own, so they never hold up the periodic jobs), else to the default queue."""
    queue = settings.EXPORT_QUEUE
    current_app.send_task(RUN_EXPORT_TASK, args=[export_id], **({"queue": queue} if queue else {}))


def export_request(
    *,
    actor: Any,
    trial: Trial,
    fmt: str,
    as_of: datetime | None = None,
    unblinded: bool = False,
    raw_layout: str = "",
    now: datetime | None = None,
    enqueue: bool = True,
) -> Export:
    """Queue an export of `trial` as it stood at `as_of` (default: now), in format `fmt`.

    Blinded exports go to statisticians (blinded or unblinded) and to the system actor;
    unblinded ones only to an unblinded statistician, after trial lock or under an active
    DSMB release (recorded on the export). Everyone else is refused with a message saying
    why. `raw_layout` ("wide" or "long") adds the raw tables, blinded as the export is. The
    job is enqueued once the transaction commits; `enqueue=False` leaves it for
    the caller to run (the `export` command runs it in process).
    """
    now = now or timezone.now()
    release = _refuse(actor, trial, unblinded=unblinded, now=now)
    if fmt not in FORMATS:
        raise DomainError(
            f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.",
            fields={"format": ["Unknown format."]},
        )
    if raw_layout and raw_layout not in RAW_LAYOUTS:
        raise DomainError(
            f"Unknown raw table layout {raw_layout!r}; choose one of {', '.join(RAW_LAYOUTS)}.",
            fields={"raw_layout": ["Unknown layout."]},
        )
    as_of = now if as_of is None else as_of
    if timezone.is_naive(as_of):
        as_of = as_of.replace(tzinfo=UTC)
    if as_of > now:
        raise DomainError(
            "The as-of instant lies in the future; choose a past instant or leave it empty.",
            fields={"as_of": ["In the future."]},
        )
    version = _protocol_version_at(trial, as_of)
    blinded = not unblinded
    with transaction.atomic():
        export = audited_save(
            Export(
                trial=trial,
                protocol_version=version,
                format=fmt,
                as_of=as_of,
                raw_layout=raw_layout,
                blinded=blinded,
                requested_by=actor,
                dsmb_release=release,
                status=ExportStatus.QUEUED,
                created_at=now,
            ),
            actor=actor,
            reason=(
                f"Requested a {'blinded' if blinded else 'unblinded'} {fmt} export as of "
                f"{as_of.isoformat()}"
                + (f" with {raw_layout} raw tables" if raw_layout else "")
                + (f" under DSMB release #{release.pk}" if release is not None else "")
            ),
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(export.pk))
    logger.info(
        "Export %s requested by %s: %s %s as of %s",
        export.pk,
        actor,
        "blinded" if blinded else "unblinded",
        fmt,
        as_of.isoformat(),
    )
    return export

"""Run a queued export: claim it, write its files with progress, seal them with a manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.services import system_actor
from ecrf.db_routing import replica_reads
from ecrf.errors import DomainError
from exports.base import ExportContext, Format, RawLayout, WrittenFile
from exports.datasets.common import shared_subjects
from exports.formats import total_units, write_export
from exports.models import Export, ExportStatus
from exports.selectors import exports_root

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
# Progress is written to the database at most this often, whatever the writers report.
PROGRESS_INTERVAL_SECONDS = 1.0

# Called with (units done, units total) after every report of the writers.
ProgressObserver = Callable[[int, int], None]


class ProgressRecorder:
    """The `Progress` callback handed to the writers: counts every unit and stores the count
    on the export at most once per `interval` seconds (and once more at the end), so a large
    export costs a handful of small updates, not one per row."""

    def __init__(
        self,
        export_id: int,
        total: int,
        *,
        interval: float = PROGRESS_INTERVAL_SECONDS,
        observer: ProgressObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.export_id = export_id
        self.total = total
        self.interval = interval
        self.observer = observer
        self.clock = clock
        self.done = 0
        self.saved = 0
        self.writes = 0
        self._last = clock()

    def __call__(self, units: int) -> None:
        self.done += units
        if self.observer is not None:
            self.observer(self.done, self.total)
        if self.clock() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self.done != self.saved:
            Export.objects.filter(pk=self.export_id, status=ExportStatus.RUNNING).update(
                units_done=self.done
            )
            self.saved = self.done
            self.writes += 1
        self._last = self.clock()


def _record_history(export_id: int, *, actor: Any, reason: str) -> None:
    """A history record of the export as it now stands, for a change made by compare-and-set."""
    export = Export.objects.get(pk=export_id)
    Export.history.bulk_history_create(  # type: ignore[attr-defined]
        [export], update=True, default_user=actor, default_change_reason=reason
    )


def _claim(export_id: int, *, now: datetime, actor: Any) -> bool:
    """Move queued -> running; False when another run got there first (or it is finished)."""
    with transaction.atomic():
        claimed = Export.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.RUNNING, started_at=now
        )
        if claimed:
            _record_history(export_id, actor=actor, reason="Export started")
    return bool(claimed)


def _finish(export_id: int, *, actor: Any, reason: str, **fields: Any) -> bool:
    with transaction.atomic():
        moved = Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(**fields)
        if moved:
            _record_history(export_id, actor=actor, reason=reason)
    return bool(moved)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def build_manifest(
    export: Export, written: list[WrittenFile], folder: Path, *, generated_at: datetime
) -> dict[str, Any]:
    """What the export holds and how to check it: every file with its rows and SHA-256."""
    files = []
    rows: dict[str, int] = {}
    for item in written:
        path = Path(item.path)
        try:
            name = path.resolve().relative_to(folder.resolve()).as_posix()
        except ValueError:
            raise DomainError(f"The writer put {path} outside the export's folder.") from None
        if name == MANIFEST_NAME:
            raise DomainError("A data file may not be named manifest.json.")
        files.append(
            {
                "name": name,
                "dataset": item.dataset,
                "rows": item.rows,
                "bytes": path.stat().st_size,
                "sha256": sha256_of(path),
            }
        )
        rows[item.dataset] = rows.get(item.dataset, 0) + item.rows
    version = export.protocol_version
    return {
        "manifest_version": MANIFEST_VERSION,
        "export_id": export.pk,
        "trial": export.trial.code,
        "trial_title": export.trial.title,
        "protocol_version": {
            "number": version.number,
            "label": version.label,
            "checksum": version.checksum,
        },
        "format": export.format,
        "blinded": export.blinded,
        "raw_layout": export.raw_layout,
        "as_of": _iso(export.as_of),
        "generated_at": _iso(generated_at),
        "requested_by": export.requested_by.get_username(),
        "dsmb_release": export.dsmb_release_id,
        "row_counts": rows,
        "files": files,
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


def _failure_message(error: BaseException, export_id: int) -> str:
    """What the statistician reads. A domain error says what to fix; anything else is reported
    without its text, which could carry data values, and is logged in full."""
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, KeyboardInterrupt):
        return "The export was interrupted before it finished."
    return (
        f"The export stopped on an internal error ({type(error).__name__}); the details are "
        f"in the server log under export {export_id}."
    )


STALE_MESSAGE = (
    "The export was interrupted: its worker stopped before it finished. Request it again."
)


def exports_fail_stale(*, now: datetime, running_for: timedelta) -> int:
    """Mark failed every export still running after `running_for`, longer than its task may
    live (a worker killed or lost mid-export leaves it running, and a message redelivered
    then finds it claimed); its staging folder is removed. Returns how many were failed."""
    actor = system_actor()
    stale = Export.objects.filter(status=ExportStatus.RUNNING, started_at__lte=now - running_for)
    failed = 0
    for export in stale.select_related("trial").order_by("pk"):
        if _finish(
            export.pk,
            actor=actor,
            reason="Export interrupted",
            status=ExportStatus.FAILED,
            error=STALE_MESSAGE,
            finished_at=now,
        ):
            failed += 1
            for staging in (exports_root() / export.trial.code).glob(f".{export.pk}-*.partial"):
                shutil.rmtree(staging, ignore_errors=True)
    return failed


def _write_raw(context: ExportContext, layout: RawLayout, staging: Path) -> list[WrittenFile]:
    """The raw tables in the folder `raw/`, each named `raw/<table>` in the manifest so that
    a form never shares its row count with a dataset of the same name."""
    from exports.raw import RAW_FOLDER, write_raw

    return [
        replace(item, dataset=f"{RAW_FOLDER}/{item.dataset}")
        for item in write_raw(context, staging / RAW_FOLDER, layout=layout)
    ]


def export_run(
    *,
    export_id: int,
    observer: ProgressObserver | None = None,
    progress_interval: float = PROGRESS_INTERVAL_SECONDS,
) -> Export | None:
    """Run a queued export once: None when it was not queued (already run, or running).

    Files are written into a hidden staging folder under the exports root and moved to the
    export's own folder, with manifest.json, only when all are written; on any error the
    staging folder is removed and the export is marked failed with a readable message, so
    partial files are never offered. Not wrapped in one transaction: progress updates must
    be visible to those polling while the writers stream.
    """
    actor = system_actor()
    if not _claim(export_id, now=timezone.now(), actor=actor):
        logger.info("Export %s was not queued; nothing to run.", export_id)
        return None
    export = Export.objects.select_related("trial", "protocol_version", "requested_by").get(
        pk=export_id
    )
    fmt: Format = export.format  # type: ignore[assignment]
    context = ExportContext(
        trial=export.trial,
        protocol_version=export.protocol_version,
        as_of=export.as_of,
        blinded=export.blinded,
    )
    root = exports_root()
    relative = f"{export.trial.code}/{export.pk}-{secrets.token_hex(4)}"
    final = root / relative
    staging = final.with_name(f".{final.name}.partial")
    try:
        # The datasets are read from the replica when there is one; progress is written to
        # the primary.
        with shared_subjects(), replica_reads():
            total = total_units(context, fmt)
            Export.objects.filter(pk=export_id).update(units_total=total)
            recorder = ProgressRecorder(
                export_id, total, interval=progress_interval, observer=observer
            )
            written = write_export(context, fmt, staging, recorder)
            if export.raw_layout:
                written += _write_raw(context, export.raw_layout, staging)  # type: ignore[arg-type]
        recorder.flush()
        manifest = build_manifest(export, written, staging, generated_at=timezone.now())
        (staging / MANIFEST_NAME).write_bytes(manifest_bytes(manifest))
        staging.rename(final)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        logger.exception("Export %s failed.", export_id)
        _finish(
            export_id,
            actor=actor,
            reason="Export failed",
            status=ExportStatus.FAILED,
            error=_failure_message(error, export_id),
            finished_at=timezone.now(),
        )
        if not isinstance(error, Exception):
            raise
        return Export.objects.get(pk=export_id)
    finished = _finish(
        export_id,
        actor=actor,
        reason="Export done",
        status=ExportStatus.DONE,
        units_done=recorder.done,
        manifest=manifest,
        files_dir=relative,
        finished_at=timezone.now(),
    )
    if not finished:
        # Someone else settled it meanwhile; its folder must not outlive the record.
        shutil.rmtree(final, ignore_errors=True)
    return Export.objects.get(pk=export_id)

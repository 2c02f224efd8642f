"""Print a casebook; request, run and hand over a site's archive."""

from __future__ import annotations

import logging
import re
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.services import system_actor
from archive.document import casebook_document
from archive.models import SiteArchive
from archive.pdf import iso, page_html, pdf_bytes
from archive.selectors import is_site_investigator, site_lock
from assessments.blinding import revealing_read_record
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from exports.models import ExportStatus
from exports.selectors import exports_root
from exports.services.archive import Archive, zip_stream
from exports.services.runs import MANIFEST_NAME, manifest_bytes, sha256_of
from trials.models import Participant, Site

logger = logging.getLogger(__name__)

RUN_SITE_ARCHIVE_TASK = "archive.run_site_archive"
MANIFEST_VERSION = 1


# One casebook -------------------------------------------------------------------------------


def casebook_pdf(
    *, user: Any, participant: Participant, as_of: datetime, now: datetime, path: str = ""
) -> bytes:
    """The casebook of `participant` as `user` may read it at `as_of`, as a PDF/A in the
    user's language on the site's clock. The same casebook as of the same instant is the same
    bytes. Showing allocation-revealing values (to an unblinded reader only) is recorded as a
    read of the arm."""
    document = casebook_document(user, participant, as_of=as_of)
    html = page_html(
        "archive/casebook.html",
        {"doc": document, "created": iso(as_of), "reader": getattr(user, "display_name", "")},
        zone=document.time_zone,
        language=getattr(user, "language", "") or settings.LANGUAGE_CODE,
    )
    data = pdf_bytes(html, identifier=f"casebook {participant.pk} {iso(as_of)} {user.pk}")
    if document.revealing_forms:
        revealing_read_record(
            user=user,
            participant=participant,
            ftypes=document.revealing_forms,
            path=path or f"casebook PDF {participant.pk}",
            now=now,
        )
    return data


def casebook_filename(participant: Participant) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", participant.identifier) + ".pdf"


# A site's archive ---------------------------------------------------------------------------


def _enqueue(archive_id: int) -> None:
    from celery import current_app

    queue = settings.EXPORT_QUEUE
    current_app.send_task(
        RUN_SITE_ARCHIVE_TASK, args=[archive_id], **({"queue": queue} if queue else {})
    )


def site_archive_request(
    *, actor: Any, site: Site, now: datetime, enqueue: bool = True
) -> SiteArchive:
    """Queue the archive of `site`: one casebook PDF per participant and a manifest, as the
    data stood at the lock. Only the site's investigator asks for it, and only once a trial or
    site lock holds the data, so that the archive is the data as locked."""
    if not is_site_investigator(actor, site):
        raise PermissionDeniedError("Only the investigator of the site may archive its casebooks.")
    lock = site_lock(site)
    if lock is None:
        raise InvalidTransitionError(
            f"The data of site {site.code} are not locked. A data manager locks the site or the "
            "trial first; the archive is the data as they stood at that lock."
        )
    with transaction.atomic():
        archive = audited_save(
            SiteArchive(
                trial_id=site.trial_id,
                site=site,
                lock=lock,
                as_of=lock.locked_at,
                requested_by=actor,
                created_at=now,
            ),
            actor=actor,
            reason=f"Requested the archive of site {site.code} as of its lock",
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(archive.pk))
    return archive


def _move(archive_id: int, old: str, *, actor: Any, reason: str, **fields: Any) -> bool:
    """Compare-and-set the status, with a history record of the archive as it then stands."""
    with transaction.atomic():
        moved = SiteArchive.objects.filter(pk=archive_id, status=old).update(**fields)
        if moved:
            SiteArchive.history.bulk_history_create(  # type: ignore[attr-defined]
                [SiteArchive.objects.get(pk=archive_id)],
                update=True,
                default_user=actor,
                default_change_reason=reason,
            )
    return bool(moved)


def _participants(archive: SiteArchive) -> Any:
    return Participant.objects.filter(trial_id=archive.trial_id, site_id=archive.site_id).order_by(
        "pk"
    )


def site_archive_run(*, archive_id: int) -> SiteArchive | None:
    """Run a queued archive once (None when it was not queued). Participants are read one at
    a time and each PDF is written to disk before the next is printed, so memory does not grow
    with the site. The files are moved into place with their manifest only when all are
    written; a failure leaves none."""
    actor = system_actor()
    if not _move(
        archive_id,
        ExportStatus.QUEUED,
        actor=actor,
        reason="Archive started",
        status=ExportStatus.RUNNING,
        started_at=timezone.now(),
    ):
        return None
    archive = SiteArchive.objects.select_related("site", "trial", "requested_by").get(pk=archive_id)
    relative = f"{archive.trial.code}/site-archives/{archive.pk}-{secrets.token_hex(4)}"
    final = exports_root() / relative
    staging = final.with_name(f".{final.name}.partial")
    try:
        staging.mkdir(parents=True)
        total = _participants(archive).count()
        SiteArchive.objects.filter(pk=archive_id).update(participants_total=total)
        files = []
        for done, participant in enumerate(
            _participants(archive).select_related("trial", "site", "protocol_version").iterator(),
            start=1,
        ):
            name = casebook_filename(participant)
            target = staging / name
            target.write_bytes(
                casebook_pdf(
                    user=archive.requested_by,
                    participant=participant,
                    as_of=archive.as_of,
                    now=timezone.now(),
                    path=f"site archive {archive.pk}",
                )
            )
            files.append(_entry(participant, target, name))
            SiteArchive.objects.filter(pk=archive_id).update(participants_done=done)
        manifest = _manifest(archive, files)
        (staging / MANIFEST_NAME).write_bytes(manifest_bytes(manifest))
        staging.rename(final)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        logger.exception("Site archive %s failed.", archive_id)
        _move(
            archive_id,
            ExportStatus.RUNNING,
            actor=actor,
            reason="Archive failed",
            status=ExportStatus.FAILED,
            error=error.message
            if isinstance(error, DomainError)
            else f"The archive stopped on an internal error ({type(error).__name__}); the "
            f"details are in the server log under site archive {archive_id}.",
            finished_at=timezone.now(),
        )
        if not isinstance(error, Exception):
            raise
        return SiteArchive.objects.get(pk=archive_id)
    _move(
        archive_id,
        ExportStatus.RUNNING,
        actor=actor,
        reason="Archive finished",
        status=ExportStatus.DONE,
        manifest=manifest,
        files_dir=relative,
        finished_at=timezone.now(),
    )
    return SiteArchive.objects.get(pk=archive_id)


STALE_MESSAGE = (
    "The archive was interrupted: its worker stopped before it finished. Request it again."
)


def site_archives_fail_stale(*, now: datetime, running_for: timedelta) -> int:
    """Mark failed every site archive still running after `running_for`, longer than its task
    may live: a worker killed or lost mid-archive leaves it running, and a message redelivered
    then finds it claimed. Its staging folder is removed. Returns how many were failed."""
    actor = system_actor()
    stale = SiteArchive.objects.filter(
        status=ExportStatus.RUNNING, started_at__lte=now - running_for
    )
    failed = 0
    for archive in stale.select_related("trial").order_by("pk"):
        if _move(
            archive.pk,
            ExportStatus.RUNNING,
            actor=actor,
            reason="Archive interrupted",
            status=ExportStatus.FAILED,
            error=STALE_MESSAGE,
            finished_at=now,
        ):
            failed += 1
            folder = exports_root() / archive.trial.code / "site-archives"
            for staging in folder.glob(f".{archive.pk}-*.partial"):
                shutil.rmtree(staging, ignore_errors=True)
    return failed


def _entry(participant: Participant, path: Path, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "participant": participant.identifier,
        "bytes": path.stat().st_size,
        "sha256": sha256_of(path),
    }


def _manifest(archive: SiteArchive, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "site_archive_id": archive.pk,
        "trial": archive.trial.code,
        "site": archive.site.code,
        "as_of": archive.as_of.astimezone(UTC).isoformat(),
        "lock_id": archive.lock_id,
        "requested_by": archive.requested_by.get_username(),
        "format": "PDF/A-3b",
        "files": files,
    }


def site_archive_download(*, user: Any, archive: SiteArchive) -> Archive:
    """The archive's PDFs and manifest as a zip, for the investigator of its site."""
    if not is_site_investigator(user, archive.site):
        raise PermissionDeniedError("Only the investigator of the site may have its archive.")
    if archive.status != ExportStatus.DONE or not archive.files_dir:
        raise InvalidTransitionError(
            f"This archive has no files to download: it is {archive.get_status_display().lower()}."
        )
    folder = exports_root() / archive.files_dir
    names = [MANIFEST_NAME, *(item["name"] for item in archive.manifest.get("files", []))]
    members = [(name, folder / name) for name in names]
    if not all(path.is_file() for _, path in members):
        raise InvalidTransitionError("The files of this archive are no longer on the server.")
    stamp = archive.as_of.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"{archive.trial.code}-{archive.site.code}-casebooks-{stamp}-{archive.pk}"
    logger.info("Site archive %s downloaded by %s.", archive.pk, user)
    return Archive(filename=f"{stem}.zip", chunks=zip_stream(members, stem, archive.as_of))

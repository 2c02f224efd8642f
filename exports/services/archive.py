"""The download of a finished export: its files and manifest as a zip, streamed in chunks."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.utils import timezone

from ecrf.errors import InvalidTransitionError, NotFoundError, PermissionDeniedError
from exports.models import Export, ExportStatus
from exports.selectors import export_rights, exports_root
from exports.services.runs import MANIFEST_NAME
from trials.blinding import allocated_participants
from trials.models import ReadChannel
from trials.services import arm_reads_record

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 16
# The zip format cannot date a member before 1980.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class _Pipe(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come: the zip is never whole."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


@dataclass(frozen=True)
class Archive:
    filename: str
    chunks: Iterator[bytes]


def archive_stem(export: Export) -> str:
    stamp = export.as_of.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    kind = "blinded" if export.blinded else "unblinded"
    return f"{export.trial.code}-{export.format}-{stamp}-{kind}-{export.pk}"


def _members(export: Export) -> list[tuple[str, Path]]:
    """The manifest first, then the data files in the order the manifest lists them."""
    folder = exports_root() / export.files_dir
    names = [MANIFEST_NAME, *(item["name"] for item in export.manifest.get("files", []))]
    members = [(name, folder / name) for name in names]
    if not all(path.is_file() for _, path in members):
        raise NotFoundError("The files of this export are no longer on the server.")
    return members


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """Every member is dated at the export's as-of instant (UTC), so the archive of the same
    files is the same bytes however often it is downloaded."""
    utc = moment.astimezone(UTC)
    return max(ZIP_EPOCH, (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second))


def zip_stream(members: list[tuple[str, Path]], prefix: str, moment: datetime) -> Iterator[bytes]:
    """The members as a zip under the folder `prefix`, in chunks, each dated at `moment`."""
    pipe = _Pipe()
    date_time = _zip_time(moment)
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in members:
            info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.file_size = path.stat().st_size
            with path.open("rb") as source, archive.open(info, mode="w") as target:
                while chunk := source.read(CHUNK_BYTES):
                    target.write(chunk)
                    if data := pipe.take():
                        yield data
            if data := pipe.take():
                yield data
    if data := pipe.take():
        yield data


def export_handover(
    *, user: Any, export: Export, path: str = "", now: datetime
) -> list[tuple[str, Path]]:
    """The files of a done export (manifest first), for a `user` who may have them now, as
    for requesting the same kind of export: a statistician of the trial for a blinded one;
    for an unblinded one, an unblinded statistician on the blinding gate's ground (trial lock
    or a DSMB release in force). Blinded users never get an unblinded export, whoever
    requested it.

    Handing over an unblinded export is a read of every arm it holds: one record per
    participant allocated by its as-of instant, with the ground, in one bulk insert. Per
    participant, not one per export, so that a participant's record of reads is complete
    whichever path showed the arm; 10,000 participants are ten inserts of a thousand rows.
    """
    rights = export_rights(user, export.trial, now=now)
    if not rights.allows(blinded=export.blinded):
        raise PermissionDeniedError(
            "Your role does not allow you to download this export."
            if export.blinded
            else "Only an unblinded statistician may download an unblinded export, after trial "
            "lock or under a DSMB release."
        )
    if export.status != ExportStatus.DONE or not export.files_dir:
        raise InvalidTransitionError(
            f"This export has no files to download: it is {export.get_status_display().lower()}."
        )
    members = _members(export)
    if not export.blinded and rights.access is not None:
        arm_reads_record(
            user=user,
            trial=export.trial,
            participants=allocated_participants(export.trial, as_of=export.as_of),
            access=rights.access,
            channel=ReadChannel.EXPORT,
            path=path or f"export {export.pk}",
            now=now,
        )
    return members


def export_archive(
    *, user: Any, export: Export, now: datetime | None = None, path: str = ""
) -> Archive:
    """The zip of a done export, for a user `export_handover` lets have it (and records)."""
    members = export_handover(user=user, export=export, path=path, now=now or timezone.now())
    stem = archive_stem(export)
    logger.info("Export %s downloaded by %s.", export.pk, user)
    return Archive(filename=f"{stem}.zip", chunks=zip_stream(members, stem, export.as_of))

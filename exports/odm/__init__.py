"""CDISC ODM 1.3.2 export: a Transactional file with an audit record for every change."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC
from pathlib import Path

from exports.base import ExportContext, Progress, WrittenFile
from exports.odm.catalogue import Catalogue, build_catalogue
from exports.odm.clinicaldata import write_admin_data, write_clinical_data
from exports.odm.history import data_points, read_snapshot
from exports.odm.metadata import write_study
from exports.odm.writer import XmlWriter

__all__ = ["odm_file_name", "odm_total", "write_odm"]

NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
DATASET = "ODM"


def odm_total(ctx: ExportContext) -> int:
    """How many ItemData (data-point changes) `write_odm` writes for this context."""
    catalogue = build_catalogue(ctx)
    return sum(1 for _ in data_points(ctx, catalogue, read_snapshot(ctx, catalogue)))


def odm_file_name(ctx: ExportContext) -> str:
    return f"{ctx.trial.code}-odm.xml"


def _root(ctx: ExportContext, catalogue: Catalogue) -> dict[str, str | None]:
    """The ODM element's attributes, all derived from the trial and `as_of` (never the clock),
    so the same request gives the same bytes."""
    moment = ctx.as_of.astimezone(UTC)
    kind = "BLINDED" if ctx.blinded else "UNBLINDED"
    return {
        "xmlns": NAMESPACE,
        "ODMVersion": "1.3.2",
        "FileType": "Transactional",
        "FileOID": f"ODM.{ctx.trial.code}.{catalogue.mdv_oid}.{kind}.{moment:%Y%m%dT%H%M%S%fZ}",
        "CreationDateTime": moment.isoformat(),
        "AsOfDateTime": moment.isoformat(),
        "Description": (
            f"{'Blinded' if ctx.blinded else 'Unblinded'} clinical data of {ctx.trial.code} "
            f"with every change up to {moment.isoformat()}"
        ),
        "Originator": "ecrf",
        "SourceSystem": "ecrf",
    }


def write_odm(ctx: ExportContext, out_dir: Path, progress: Progress) -> list[WrittenFile]:
    """Write one ODM file into `out_dir`: Study (metadata), AdminData, ClinicalData.

    ClinicalData is streamed first into an unnamed temporary file beside the output, since
    AdminData, which comes before it, lists the users and sites it refers to; it is then
    copied in chunks. Memory stays flat however many changes the trial holds.
    """
    catalogue = build_catalogue(ctx)
    snap = read_snapshot(ctx, catalogue)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / odm_file_name(ctx)
    with tempfile.TemporaryFile(dir=out_dir) as body, path.open("wb") as out:
        written = write_clinical_data(
            XmlWriter(body, depth=1), catalogue, snap, data_points(ctx, catalogue, snap), progress
        )
        head = XmlWriter(out)
        head.declaration()
        head.start("ODM", _root(ctx, catalogue))
        write_study(head, catalogue)
        write_admin_data(head, catalogue, snap, written)
        body.seek(0)
        shutil.copyfileobj(body, out)
        head.end("ODM")
        head.finish()
    return [WrittenFile(path=path, dataset=DATASET, rows=written.points)]

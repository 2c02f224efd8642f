"""One entry point per export: write every file of a format into a directory, reporting progress."""

from __future__ import annotations

from pathlib import Path

from exports.base import ExportContext, Format, Progress, WrittenFile


def total_units(ctx: ExportContext, fmt: Format) -> int:
    """How many rows (CSV, XPT) or data points (ODM) the export will write, for its progress."""
    if fmt == "odm":
        from exports.odm import odm_total

        return odm_total(ctx)
    from exports.tabular import tabular_total

    return tabular_total(ctx)


def write_export(
    ctx: ExportContext, fmt: Format, out_dir: Path, progress: Progress
) -> list[WrittenFile]:
    """Write the export's files (data and codebooks; for CSV and XPT, the annotated CRF, the
    stylesheet and define.xml last) into `out_dir`, in a stable order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "odm":
        from exports.odm import write_odm

        return write_odm(ctx, out_dir, progress)
    from exports.annotated import write_annotated_crf
    from exports.datasets import exported_datasets
    from exports.define import write_define, write_stylesheet
    from exports.tabular import write_tabular

    written = write_tabular(ctx, fmt, out_dir, progress)
    shown = [
        f"{exported.name}.{variable.name}"
        for exported in exported_datasets(ctx)
        for variable in exported.variables
    ]
    annotated = write_annotated_crf(ctx, out_dir, shown)
    # Define-XML of the datasets, read from the files just written, with its stylesheet.
    return [
        *written,
        annotated,
        write_stylesheet(out_dir),
        write_define(ctx, fmt, out_dir, written, annotated=annotated.path.name),
    ]

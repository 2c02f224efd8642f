"""CSV and SAS transport (XPT v5) files of the datasets, streamed, each with its codebook."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO

from exports.base import ExportContext, Format, Progress, Variable, WrittenFile
from exports.cells import XPT_CHAR_MAX, Row, csv_rows, normalized
from exports.datasets import ExportedDataset, exported_datasets
from exports.datasets.common import shared_subjects

# Progress is reported after about this many rows of a dataset, and at its end.
PROGRESS_EVERY = 500
# Rows handed to pyreadstat at once: an XPT file is written in pieces of this size.
XPT_CHUNK_ROWS = 5000
# SAS transport version 5 limits.
XPT_NAME_MAX = 8
XPT_LABEL_MAX = 40
XPT_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
CODEBOOK_COLUMNS = ("variable", "label", "type", "unit", "codelist")


def tabular_total(ctx: ExportContext) -> int:
    """How many data rows the CSV or XPT export of `ctx` writes (codebooks not counted)."""
    return sum(exported.count(ctx) for exported in exported_datasets(ctx))


def write_tabular(
    ctx: ExportContext, fmt: Format, out_dir: Path, progress: Progress
) -> list[WrittenFile]:
    """Write each dataset as `<DOMAIN>.csv` or `<domain>.xpt`, followed by its codebook
    `<DOMAIN>_codebook.csv`, reporting rows as they are written."""
    if fmt not in ("csv", "xpt"):
        raise ValueError(f"{fmt!r} is not a tabular format.")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[WrittenFile] = []
    with shared_subjects():
        for exported in exported_datasets(ctx):
            written.extend(_write_dataset(ctx, exported, fmt, out_dir, progress))
    return written


def _write_dataset(
    ctx: ExportContext, exported: ExportedDataset, fmt: Format, out_dir: Path, progress: Progress
) -> list[WrittenFile]:
    """The dataset's file and its codebook."""
    if fmt == "csv":
        path = out_dir / f"{exported.name}.csv"
        rows = write_csv(ctx, exported, path, progress)
    else:
        path = out_dir / f"{exported.name.lower()}.xpt"
        rows = write_xpt(ctx, exported, path, progress)
    codebook = out_dir / f"{exported.name}_codebook.csv"
    write_codebook(exported.variables, codebook)
    # A codebook describes variables; it holds no data rows of the dataset.
    return [
        WrittenFile(path=path, dataset=exported.name, rows=rows),
        WrittenFile(path=codebook, dataset=exported.name, rows=0),
    ]


class _Counter:
    """Reports rows to `progress` every PROGRESS_EVERY rows and once more at the end."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.total = 0
        self.pending = 0

    def add(self) -> None:
        self.total += 1
        self.pending += 1
        if self.pending >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.progress(self.pending)
            self.pending = 0


def write_csv(ctx: ExportContext, exported: ExportedDataset, path: Path, progress: Progress) -> int:
    """Write one dataset as UTF-8 CSV, streamed in chunks of PROGRESS_EVERY rows; return the
    number of data rows."""
    variables = exported.variables
    rows = csv_rows(exported.dataset.variables, exported.positions, exported.masks)(
        exported.dataset.rows(ctx)
    )
    total = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([variable.name for variable in variables])
        # Written and reported PROGRESS_EVERY rows at a time.
        while chunk := list(islice(rows, PROGRESS_EVERY)):
            writer.writerows(chunk)
            total += len(chunk)
            progress(len(chunk))
    return total


def write_codebook(variables: tuple[Variable, ...], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CODEBOOK_COLUMNS)
        for variable in variables:
            writer.writerow(
                [
                    variable.name,
                    variable.label,
                    variable.type,
                    variable.unit,
                    "; ".join(variable.codelist),
                ]
            )


def check_xpt_limits(name: str, label: str, variables: tuple[Variable, ...]) -> None:
    """Refuse a dataset SAS transport version 5 cannot hold as defined."""
    problems = []
    if not XPT_NAME.match(name):
        problems.append(f"dataset name {name!r}")
    if len(label) > XPT_LABEL_MAX or not label.isascii():
        problems.append(f"dataset label {label!r}")
    for variable in variables:
        if not XPT_NAME.match(variable.name):
            problems.append(f"variable name {variable.name!r}")
        if len(variable.label) > XPT_LABEL_MAX or not variable.label.isascii():
            problems.append(f"label of {variable.name}")
        if variable.type == "Char" and not 1 <= variable.length <= XPT_CHAR_MAX:
            problems.append(f"length of {variable.name}")
    if problems:
        raise ValueError(f"{name} does not fit SAS transport v5: " + ", ".join(problems) + ".")


def write_xpt(ctx: ExportContext, exported: ExportedDataset, path: Path, progress: Progress) -> int:
    """Write one dataset as SAS transport v5 with pyreadstat, in constant memory.

    The rows are first spooled to a temporary file while the width of each character
    variable is measured; pyreadstat then writes them in pieces of XPT_CHUNK_ROWS rows, each
    at those widths, and the observations of the pieces follow one header. The header's
    creation and modification times are those of the as-of instant, so the same snapshot
    gives the same bytes.
    """
    variables = exported.variables
    check_xpt_limits(exported.name, exported.label, variables)
    text_columns = [i for i, variable in enumerate(variables) if variable.type == "Char"]
    widths = dict.fromkeys(text_columns, 1)
    counter = _Counter(progress)
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=path.parent) as spool:
        for row in normalized(variables, exported.rows(ctx)):
            for index in text_columns:
                widths[index] = max(widths[index], len(row[index].encode("utf-8")))
            spool.write(json.dumps(row, ensure_ascii=False) + "\n")
            counter.add()
        counter.flush()
        spool.seek(0)
        writer = _XptPieces(exported, widths, path.parent)
        header = stamp_xpt_header(writer.header(), ctx.as_of)
        size = 0
        with path.open("wb") as out:
            out.write(header)
            for piece in _pieces(spool, XPT_CHUNK_ROWS):
                data = writer.observations(piece)
                out.write(data)
                size += len(data)
            # The last 80-byte record is filled with blanks, as SAS does.
            out.write(b" " * (-size % 80))
    return counter.total


def _pieces(spool: IO[str], size: int) -> Iterator[list[Row]]:
    piece: list[Row] = []
    for line in spool:
        piece.append(json.loads(line))
        if len(piece) >= size:
            yield piece
            piece = []
    if piece:
        yield piece


OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"


class _XptPieces:
    """Writes rows with pyreadstat at fixed widths and cuts the file into header and rows."""

    def __init__(self, exported: ExportedDataset, widths: dict[int, int], folder: Path) -> None:
        self.exported = exported
        self.widths = widths
        self.folder = folder
        self.row_length = sum(
            widths[i] if variable.type == "Char" else 8
            for i, variable in enumerate(exported.variables)
        )
        self._header: bytes | None = None

    def _write(self, rows: list[Row]) -> tuple[bytes, bytes]:
        import pandas as pd
        import pyreadstat

        variables = self.exported.variables
        first = list(rows[0])
        for index, width in self.widths.items():
            # Trailing blanks are not data in SAS: padding one value sets the stored width.
            first[index] += " " * (width - len(first[index].encode("utf-8")))
        rows = [first, *rows[1:]]
        frame = pd.DataFrame(
            {
                variable.name: pd.Series(
                    [row[i] for row in rows],
                    dtype=object if variable.type == "Char" else "float64",
                )
                for i, variable in enumerate(variables)
            }
        )
        handle, name = tempfile.mkstemp(suffix=".xpt", dir=self.folder)
        os.close(handle)
        try:
            pyreadstat.write_xport(
                frame,
                name,
                file_label=self.exported.label,
                column_labels=[variable.label for variable in variables],
                table_name=self.exported.name,
                file_format_version=5,
            )
            data = Path(name).read_bytes()
        finally:
            Path(name).unlink(missing_ok=True)
        start = data.index(OBS_HEADER) + 80
        return data[:start], data[start : start + len(rows) * self.row_length]

    def header(self) -> bytes:
        if self._header is None:
            blank: Row = ["" if v.type == "Char" else math.nan for v in self.exported.variables]
            self._header = unstamped(self._write([blank])[0])
        return self._header

    def observations(self, rows: list[Row]) -> bytes:
        header, data = self._write(rows)
        if unstamped(header) != self.header():
            raise RuntimeError(f"{self.exported.name}: a piece of the XPT file has another layout.")
        if len(data) != len(rows) * self.row_length:
            raise RuntimeError(f"{self.exported.name}: pyreadstat wrote an unexpected row length.")
        return data


# Where the SAS transport v5 header keeps its "ddMONyy:hh:mm:ss" stamps: the library header's
# created and modified (records 2 and 3) and the member's (records 6 and 7).
XPT_STAMPS = (144, 160, 464, 480)
STAMP_LENGTH = 16
_STAMP = re.compile(rb"^\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d$")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def xpt_stamp(moment: datetime) -> bytes:
    """A SAS date-time stamp (UTC, English month), independent of the locale."""
    utc = moment.astimezone(UTC)
    month = _MONTHS[utc.month - 1]
    return f"{utc:%d}{month}{utc:%y}:{utc:%H:%M:%S}".encode("ascii")


def _restamp(header: bytes, stamp: bytes) -> bytes:
    data = bytearray(header)
    for offset in XPT_STAMPS:
        if not _STAMP.match(bytes(data[offset : offset + STAMP_LENGTH])):
            raise RuntimeError("The SAS transport header does not have its stamps where expected.")
        data[offset : offset + STAMP_LENGTH] = stamp
    return bytes(data)


def stamp_xpt_header(header: bytes, moment: datetime) -> bytes:
    """The header with every creation and modification stamp set to `moment`."""
    return _restamp(header, xpt_stamp(moment))


def unstamped(header: bytes) -> bytes:
    return _restamp(header, b"01JAN60:00:00:00")

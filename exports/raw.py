"""Raw tables beside the SDTM datasets: one CSV per form as entered, its labels, the review
state, and SAS, R and Stata programs that load them with their variable and value labels.

Cells hold the stored codes (booleans as Y/N, date-times in UTC); the labels file gives every
column's label and every coded field's decodes, taken from the form catalogue. A blinded build
leaves out the fields the ODM export leaves out: those the form type or any protocol version
names allocation-revealing, and the queries raised on them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.text import capfirst

from casebook.catalogue import form_types
from exports.base import ExportContext, RawLayout, WrittenFile
from exports.odm.catalogue import all_definitions, hidden_fields
from exports.odm.items import field_item
from exports.snapshot import as_of, stream
from review.models import DataQuery, Lock, Signature, SourceVerification
from trials.models import Participant, Site
from visits.models import Visit

RAW_FOLDER = "raw"
LABELS_NAME = "labels.csv"
LONG_NAME = "forms_long.csv"
LABELS_COLUMNS = ("table", "variable", "label", "value", "decode")
# SAS reads every column as text of at most this many bytes.
SAS_LENGTH = 2000
LONG_COLUMNS = ("participant", "visit", "form", "record_id", "field", "value")

# The columns every form table starts with, and their labels.
KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("participant", "Participant identifier"),
    ("site", "Site code"),
    ("visit", "Visit code"),
    ("record_id", "Record identifier"),
    ("version", "Record version"),
    ("entered_at", "Entered at (UTC)"),
)
# How a system text is worded in other languages; the table keeps its English `text`.
WORDING_FIELDS = frozenset({"text_template", "text_params"})
REVIEW_MODELS: tuple[tuple[str, str, type[models.Model]], ...] = (
    ("review_queries", "Data queries", DataQuery),
    ("review_sdv", "Source data verification marks", SourceVerification),
    ("review_signatures", "Investigator signatures", Signature),
    ("review_locks", "Locks", Lock),
)


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    # The history row's attribute holding the value; empty for the key columns.
    attname: str = ""
    kind: str = "text"
    # (code, decode), in the order the form offers them.
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RawTable:
    name: str
    label: str
    columns: tuple[Column, ...]
    model: Any = None


def cell(value: Any, kind: str = "") -> str:
    """A stored value as a raw table writes it: codes as stored, Y/N, UTC ISO date-times."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text == "-0" else text
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""
    return str(value)


def form_tables(ctx: ExportContext) -> list[RawTable]:
    """One table per form of the catalogue, without the fields a blinded build hides."""
    blinding = all_definitions(ctx) if ctx.blinded else []
    tables = []
    with translation.override("en"):
        for ftype in form_types().values():
            hidden = hidden_fields(ftype.code, ftype.revealing, blinding) if ctx.blinded else set()
            columns = [Column(name, label) for name, label in KEY_COLUMNS]
            for name in (*ftype.fields, *ftype.derived):
                if name in hidden:
                    continue
                item = field_item(ftype.code, ftype.model, name)
                columns.append(
                    Column(
                        name,
                        capfirst(item.label),
                        item.column,
                        item.kind,
                        item.codelist.values if item.codelist else (),
                    )
                )
            tables.append(RawTable(ftype.code, str(ftype.label), tuple(columns), ftype.model))
    return tables


def review_tables() -> list[RawTable]:
    """The review state's tables: the participant's identifier, then every stored column of
    queries, SDV marks, signatures and locks (`object_id` is the form table's `record_id`)."""
    tables = []
    with translation.override("en"):
        for name, label, model in REVIEW_MODELS:
            stored = [
                Column(
                    field.attname,
                    capfirst(str(field.verbose_name)),
                    field.attname,
                    values=tuple((str(k), str(v)) for k, v in field.flatchoices)
                    if field.choices
                    else (),
                )
                for field in model._meta.concrete_fields
                if field.attname not in WORDING_FIELDS
            ]
            columns = (Column(*KEY_COLUMNS[0]), *stored)
            tables.append(RawTable(name, label, columns, model))
    return tables


@dataclass(frozen=True)
class _Subjects:
    keys: dict[int, tuple[str, str]]
    visits: dict[int, str]


def _subjects(ctx: ExportContext) -> _Subjects:
    sites = dict(Site.objects.filter(trial_id=ctx.trial.pk).values_list("pk", "code"))
    keys = {
        row.id: (row.subject_id or row.screening_number, sites.get(row.site_id, ""))
        for row in stream(as_of(Participant, ctx.as_of).filter(trial_id=ctx.trial.pk))
    }
    visits = dict(
        Visit.objects.filter(participant__trial_id=ctx.trial.pk).values_list("pk", "code")
    )
    return _Subjects(keys, visits)


def _form_rows(ctx: ExportContext, table: RawTable, subjects: _Subjects) -> Iterator[list[str]]:
    rows = as_of(table.model, ctx.as_of).filter(participant_id__in=list(subjects.keys))
    for row in stream(rows.order_by("participant_id", "id")):
        participant, site = subjects.keys[row.participant_id]
        visit_id = getattr(row, "visit_id", None)
        keys = [
            participant,
            site,
            subjects.visits.get(visit_id, "") if visit_id else "",
            str(row.id),
            str(row.row_version),
            cell(row.entered_at),
        ]
        data = [cell(getattr(row, column.attname)) for column in table.columns[len(keys) :]]
        yield keys + data


def _review_rows(
    ctx: ExportContext, table: RawTable, subjects: _Subjects, hidden: set[tuple[str, str]]
) -> Iterator[list[str]]:
    rows = as_of(table.model, ctx.as_of)
    if table.model is Lock:
        rows = rows.filter(trial_id=ctx.trial.pk)
    else:
        rows = rows.filter(participant_id__in=list(subjects.keys))
    for row in stream(rows.order_by("id")):
        if (row.form_code, getattr(row, "field_name", "")) in hidden:
            continue
        participant = subjects.keys.get(row.participant_id, ("", ""))[0]
        yield [participant] + [cell(getattr(row, c.attname)) for c in table.columns[1:]]


def _write(path: Path, header: Iterable[str], rows: Iterable[list[str]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_raw(
    ctx: ExportContext, out_dir: Path, *, layout: RawLayout = "wide"
) -> list[WrittenFile]:
    """Write the raw tables, `labels.csv` and the load programs into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subjects = _subjects(ctx)
    forms = form_tables(ctx)
    reviews = review_tables()
    written: list[WrittenFile] = []
    if layout == "long":
        path = out_dir / LONG_NAME
        count = _write(path, LONG_COLUMNS, _long_rows(ctx, forms, subjects))
        written.append(WrittenFile(path=path, dataset="forms_long", rows=count))
        tables = [_long_table(), *reviews]
    else:
        for table in forms:
            path = out_dir / f"{table.name}.csv"
            count = _write(path, (c.name for c in table.columns), _form_rows(ctx, table, subjects))
            written.append(WrittenFile(path=path, dataset=table.name, rows=count))
        tables = [*forms, *reviews]
    if ctx.blinded:
        blinding = all_definitions(ctx)
        every = {ftype.code: ftype for ftype in form_types().values()}
        hidden = {
            (code, name)
            for code, ftype in every.items()
            for name in hidden_fields(code, ftype.revealing, blinding)
        }
    else:
        hidden = set()
    for table in reviews:
        path = out_dir / f"{table.name}.csv"
        count = _write(
            path, (c.name for c in table.columns), _review_rows(ctx, table, subjects, hidden)
        )
        written.append(WrittenFile(path=path, dataset=table.name, rows=count))
    labels = out_dir / LABELS_NAME
    _write(labels, LABELS_COLUMNS, _label_rows(tables))
    written.append(WrittenFile(path=labels, dataset="labels", rows=0))
    for name, text in load_programs(tables).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(WrittenFile(path=path, dataset="programs", rows=0))
    return written


def _long_table() -> RawTable:
    columns = tuple(Column(name, name.replace("_", " ").capitalize()) for name in LONG_COLUMNS)
    return RawTable("forms_long", "Every form field, one row per value", columns)


def _long_rows(
    ctx: ExportContext, forms: list[RawTable], subjects: _Subjects
) -> Iterator[list[str]]:
    keys = len(KEY_COLUMNS)
    for table in forms:
        names = [column.name for column in table.columns[keys:]]
        for row in _form_rows(ctx, table, subjects):
            for name, value in zip(names, row[keys:], strict=True):
                if value != "":
                    yield [row[0], row[2], table.name, row[3], name, value]


def _label_rows(tables: list[RawTable]) -> Iterator[list[str]]:
    for table in tables:
        for column in table.columns:
            yield [table.name, column.name, column.label, "", ""]
            for code, decode in column.values:
                yield [table.name, column.name, "", code, decode]


# --- Load programs -------------------------------------------------------------------------


def _sas_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _r_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _stata_text(text: str) -> str:
    return '`"' + text.replace('"', "'") + "\"'"


def _format_name(table: str, column: str, index: int) -> str:
    """A SAS character format name (at most 32 characters, not ending in a digit)."""
    return f"${table[:10]}_{index}_{column[:14]}F".replace("__", "_")


def load_programs(tables: list[RawTable]) -> dict[str, str]:
    """`load.sas`, `load.R` and `load.do`, each reading every table with its labels."""
    return {"load.sas": _sas(tables), "load.R": _r(tables), "load.do": _stata(tables)}


def _sas(tables: list[RawTable]) -> str:
    lines = [
        "/* Reads the raw tables with their variable labels and value formats. */",
        "/* Every column is read as text, codes as stored; coded columns carry their decodes. */",
        "%let raw = .; /* the folder of the raw tables */",
        "options compress=yes;",
        "proc format;",
    ]
    formats: dict[tuple[str, str], str] = {}
    for table in tables:
        for index, column in enumerate(table.columns):
            if column.values:
                name = _format_name(table.name, column.name, index)
                formats[(table.name, column.name)] = name
                values = " ".join(f"{_sas_text(c)}={_sas_text(d)}" for c, d in column.values)
                lines.append(f"  value {name} {values};")
    lines.append("run;")
    for table in tables:
        names = " ".join(column.name for column in table.columns)
        lines += [
            f"data work.{table.name};",
            f'  infile "&raw/{table.name}.csv" dsd firstobs=2 lrecl=1000000 encoding="utf-8"'
            " truncover;",
            f"  length {names} ${SAS_LENGTH};",
            f"  input {names};",
        ]
        for column in table.columns:
            lines.append(f"  label {column.name} = {_sas_text(column.label)};")
            if (table.name, column.name) in formats:
                lines.append(f"  format {column.name} {formats[(table.name, column.name)]}.;")
        lines.append("run;")
    return "\n".join(lines) + "\n"


def _r(tables: list[RawTable]) -> str:
    lines = [
        '# Reads the raw tables with their variable labels (attribute "label") and value',
        '# labels (attribute "labels": a named vector, decode -> code), in base R.',
        'raw_dir <- if (exists("raw_dir")) raw_dir else "."',
        "raw <- list()",
    ]
    for table in tables:
        lines.append(
            f'd <- read.csv(file.path(raw_dir, "{table.name}.csv"), colClasses = "character",'
            ' na.strings = "", check.names = FALSE)'
        )
        for column in table.columns:
            lines.append(f'attr(d[["{column.name}"]], "label") <- {_r_text(column.label)}')
            if column.values:
                codes = ", ".join(_r_text(code) for code, _ in column.values)
                decodes = ", ".join(_r_text(decode) for _, decode in column.values)
                lines.append(
                    f'attr(d[["{column.name}"]], "labels") <- setNames(c({codes}), c({decodes}))'
                )
        lines.append(f'raw[["{table.name}"]] <- d')
    return "\n".join(lines) + "\n"


def _stata(tables: list[RawTable]) -> str:
    lines = [
        "* Reads each raw table into a .dta file with its variable and value labels.",
        "* Run from the folder of this file.",
    ]
    for table in tables:
        lines += [
            f'import delimited using "{table.name}.csv", varnames(1) stringcols(_all) '
            "bindquote(strict) encoding(utf-8) clear",
        ]
        for index, column in enumerate(table.columns):
            name = column.name[:32]
            lines.append(f"label variable {name} {_stata_text(column.label[:80])}")
            numeric = column.values and all(code.lstrip("-").isdigit() for code, _ in column.values)
            if numeric:
                label = f"l{index}_{name}"[:32]
                pairs = " ".join(f"{code} {_stata_text(decode)}" for code, decode in column.values)
                lines += [
                    f"destring {name}, replace",
                    f"label define {label} {pairs}, replace",
                    f"label values {name} {label}",
                ]
            elif column.values:
                # Text codes stay as stored; their decodes are kept as the variable's notes.
                decodes = "; ".join(f"{code}={decode}" for code, decode in column.values)
                plain = decodes.translate(str.maketrans("", "", "`$'\""))
                lines.append(f"notes {name}: {plain}")
        lines.append(f'save "{table.name}.dta", replace')
    return "\n".join(lines) + "\n"

"""The datasets as one PostgreSQL statement each, streamed into their CSV file by COPY.

A dataset's `rows` define what it holds. Every dataset of a blinded export also carries a
statement that gives the same CSV cells from the same as-of rows: on PostgreSQL the CSV export
streams it with `COPY (...) TO STDOUT` instead of building each row in Python. SQLite, SAS
transport, ODM and EX still use the rows. Tests on PostgreSQL hold every statement's file
byte-identical to the file its `rows` give.

Every cell follows `exports.cells.csv_converter`: texts cleaned and cut as `_text_cell` does,
numbers as `number_text` writes them, and an empty cell is NULL (COPY writes NULL as an empty
field and '' as `""`). Subjects come from `subjects(ctx)`, so USUBJID, the site's time zone
and the Python order of subjects are shared with the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction

from exports.base import ExportContext, Progress, Variable
from exports.cells import _text_cell
from exports.datasets.common import subjects
from visits.models import Visit

# What str.rstrip() strips: every character Python counts as whitespace.
WHITESPACE = "".join(character for character in map(chr, range(0x110000)) if character.isspace())
# The longest text a cell holds, in UTF-8 bytes (SAS transport v5's limit).
TEXT_MAX = 200
# Session settings of the COPY transaction. JIT costs more than it saves on these statements;
# the sorts and hashes of a dataset fit in memory at 64 MB; and after DISTINCT ON the planner
# badly underestimates the rows that pass, so its nested loops would run for seconds.
SETTINGS = (
    "SET LOCAL jit = off",
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL enable_nestloop = off",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL DateStyle = 'ISO, YMD'",
)
# What `_text_cell` turns into blanks: \r \n \t \v \f.
BREAKS = (13, 10, 9, 11, 12)


class Statement:
    """The parameters of one statement, bound on the client (COPY takes no server parameters)."""

    def __init__(self, ctx: ExportContext) -> None:
        self.ctx = ctx
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    # --- cells -----------------------------------------------------------------------------

    def text(self, expr: str, length: int = TEXT_MAX) -> str:
        """A text cell of `expr` as `_text_cell` stores it: runs of line breaks and tabs made
        one blank, trailing whitespace removed, cut to `length` (at most 200) UTF-8 bytes.
        `expr` is repeated, so it must be cheap: a column or a short expression of columns."""
        limit = min(length, TEXT_MAX)
        ws = self.param(WHITESPACE)
        cleaned = f"rtrim(regexp_replace({expr}, '[\\r\\n\\t\\v\\f]+', ' ', 'g'), {ws})"
        # The first byte past the cut, and those before it: the cut moves back to the start
        # of the character it would split (errors="ignore" drops the incomplete bytes).
        back = " ".join(
            f"WHEN get_byte(b, {limit - k}) & 192 <> 128 THEN {limit - k}" for k in range(3)
        )
        cut = (
            f"(SELECT CASE WHEN octet_length(c) <= {limit} THEN c ELSE rtrim(convert_from("
            f"substring(b FROM 1 FOR CASE {back} ELSE {limit - 3} END), 'UTF8'), {ws}) END "
            f"FROM (SELECT c, convert_to(c, 'UTF8') AS b FROM (SELECT {cleaned} AS c) AS c0) AS c1)"
        )
        # Most texts are stored as they are: no line break or tab, no trailing blank, short.
        # Checked with strpos, which costs PostgreSQL far less than a regular expression.
        plain = " AND ".join(
            [f"octet_length({expr}) <= {limit}"]
            + [f"strpos({expr}, chr({code})) = 0" for code in BREAKS]
            + [f"strpos({ws}, right({expr}, 1)) = 0"]
        )
        return (
            f"NULLIF(CASE WHEN {expr} IS NULL OR {expr} = '' THEN NULL "
            f"WHEN {plain} THEN {expr} ELSE {cut} END, '')"
        )

    def constant(self, value: str, length: int = TEXT_MAX) -> str:
        """A text cell that is the same on every row, stored as Python stores it."""
        stored = _stored(value, length)
        return self.param(stored) if stored else "NULL::text"

    def texts(self, values: Sequence[str], length: int = TEXT_MAX) -> str:
        """A text[] of constant cells, stored as Python stores them (NULL for an empty one):
        `texts(...)[i + 1]` is the cell of the i-th."""
        return f"{self.param([_stored(value, length) or None for value in values])}::text[]"


def _stored(value: str, length: int) -> str:
    return str(_text_cell(Variable("X", "", length=length))(value))


def number(expr: str) -> str:
    """A Num cell of a numeric or float `expr`, as `number_text(float(value))` writes it."""
    return f"(({expr})::float8)::text"


def integer(expr: str) -> str:
    """A Num cell of an integer `expr`."""
    return f"(({expr})::bigint)::text"


def decimal(expr: str) -> str:
    """A text cell of a decimal `expr`, as `decimal_text` writes it: no trailing zeros."""
    return f"(trim_scale(({expr})::numeric))::text"


def study_day(day: str, reference: str) -> str:
    """SDTM --DY of the date `day` against `reference` (see `study_day`); NULL without both."""
    delta = f"{day} - {reference}"
    return f"(CASE WHEN {day} >= {reference} THEN {delta} + 1 ELSE {delta} END)"


def partial_day(dtc: str) -> str:
    """`dtc_day` of a partial date text: its day when complete to the day and a real date.
    Checked without a regular expression, which costs PostgreSQL more than the rest."""
    day = f"substr({dtc}, 1, 10)"
    year, month, mday = (f"substr({dtc}, {at}, {n})::int" for at, n in ((1, 4), (6, 2), (9, 2)))
    leap = f"(mod({year}, 4) = 0 AND (mod({year}, 100) <> 0 OR mod({year}, 400) = 0))"
    last = (
        f"CASE {month} WHEN 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END "
        "WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 WHEN 11 THEN 30 ELSE 31 END"
    )
    return (
        f"(CASE WHEN translate({day}, '0123456789', '') = '--' AND substr({dtc}, 5, 1) = '-' "
        f"AND substr({dtc}, 8, 1) = '-' AND {year} > 0 AND {month} BETWEEN 1 AND 12 "
        f"AND {mday} BETWEEN 1 AND {last} THEN make_date({year}, {month}, {mday}) END)"
    )


def local_dtc(moment: str, time_zone: str) -> str:
    """`iso_datetime`: the local date and time at the site to the minute, seconds if any."""
    local = f"({moment} AT TIME ZONE {time_zone})"
    return (
        f"(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI') || "
        f"CASE WHEN date_part('second', {local}) >= 1 THEN to_char({local}, ':SS') ELSE '' END)"
    )


def when(cases: Sequence[tuple[str, str]], expr: str, default: str = "NULL") -> str:
    """CASE `expr` WHEN key THEN value ... ELSE default END, keys and values as SQL."""
    branches = " ".join(f"WHEN {key} THEN {value}" for key, value in cases)
    return f"(CASE {expr} {branches} ELSE {default} END)"


def coded(st: Statement, mapping: dict[Any, str], column: str) -> str:
    """`mapping.get(column, "")`: a code turned into its term (constants of the code)."""
    return when([(quoted(str(code)), st.constant(term)) for code, term in mapping.items()], column)


def yes_no(st: Statement, column: str) -> str:
    """`yes_no`: Y, N, or empty when unknown."""
    return (
        f"CASE WHEN {column} THEN {st.constant('Y')} WHEN NOT {column} THEN {st.constant('N')} END"
    )


def key_columns(st: Statement, domain: str, seq: str) -> dict[str, str]:
    """STUDYID, DOMAIN, USUBJID and --SEQ (`keys(domain)`); `seq` numbers a subject's rows."""
    return {
        "STUDYID": st.constant(st.ctx.trial.code),
        "DOMAIN": st.constant(domain),
        "USUBJID": "o.usubjid",
        f"{domain}SEQ": integer(seq),
    }


# VISITNUM and VISIT of a row that carries its visit (CARRIED).
VISIT_COLUMNS = {"VISITNUM": "o.visitnum_text", "VISIT": "o.visit"}


def partial_period(st: Statement, domain: str) -> dict[str, str]:
    """--STDTC and --ENDTC as collected (partial dates stay partial), with their study days,
    of rows from `dated`."""
    return {
        f"{domain}STDTC": st.text("o.start_text"),
        f"{domain}ENDTC": st.text("o.end_text"),
        f"{domain}STDY": integer(study_day("o.start_day", "o.day0")),
        f"{domain}ENDY": integer(study_day("o.end_day", "o.day0")),
    }


def last_before(name: str, rows: str, *, order: str, before: str, present: Sequence[str]) -> str:
    """`name`: the records of `rows` (with `sord`, as `z`), each with `rn`, its number among its
    subject's records in `order`, and `lasts`: for each expression of `present` (true of a
    record, as `y`, that holds that result), the `rn` of the subject's last record holding it
    that is `before` exposure. The row of that result is the one --LOBXFL flags: within one
    test, results follow their records' order. Counted over records, not results, so the
    results need no second sort."""
    lasts = ", ".join(
        f"max(y.rn) FILTER (WHERE y.before AND {holds}) OVER (PARTITION BY y.sord)"
        for holds in present
    )
    return (
        f"{name} AS MATERIALIZED (SELECT y.*, ARRAY[{lasts}] AS lasts FROM (SELECT z.*, "
        f"{before} AS before, row_number() OVER (PARTITION BY z.sord ORDER BY {order}) AS rn "
        f"FROM {rows} AS z) AS y)"
    )


def numbered(order: str) -> str:
    """The number of a row among its subject's rows in `order`."""
    return f"row_number() OVER (PARTITION BY o.sord ORDER BY {order})"


def dated(name: str, rows: str, start: str, end: str) -> str:
    """A CTE of records with their subject and the days of their partial start and end dates."""
    return (
        f"{name} AS MATERIALIZED (SELECT x.*, s.usubjid, s.ord AS sord, s.day0, "
        f"x.{start} AS start_text, x.{end} AS end_text, "
        f"{partial_day(f'x.{start}')} AS start_day, {partial_day(f'x.{end}')} AS end_day "
        f"FROM {rows} AS x JOIN subj AS s ON s.id = x.participant_id)"
    )


def quoted(value: str) -> str:
    """A SQL string literal of a constant known to the code (never of data)."""
    return "'" + value.replace("'", "''") + "'"


# --- rows -----------------------------------------------------------------------------------


def as_of_sql(model: type[models.Model], columns: Sequence[str], st: Statement) -> str:
    """The rows of `model` as of the export instant, with `columns`: for each object its latest
    history record at or before the instant (ties by history id), unless it is a deletion;
    the same rows as `exports.snapshot.as_of`."""
    historical = model.history.model  # type: ignore[attr-defined]
    table = historical._meta.db_table
    pk = str(model._meta.pk.column)
    instant = st.param(st.ctx.as_of)
    names = ", ".join(dict.fromkeys((pk, *columns)))
    return (
        f"(SELECT {names} FROM (SELECT DISTINCT ON ({pk}) {names}, history_type FROM {table} "
        f"WHERE history_date <= {instant} ORDER BY {pk}, history_date DESC, history_id DESC) "
        "AS latest WHERE history_type <> '-')"
    )


def subjects_sql(st: Statement, **extra: tuple[str, list[Any]]) -> str:
    """`subj`: the subjects of `subjects(ctx)` with their order (`ord`), stored USUBJID, Day 0
    and the site's time zone; and each `extra` column, given as (SQL type, a value per
    subject in that order)."""
    found = subjects(st.ctx)
    usubjid = _text_cell(Variable("USUBJID", ""))
    columns = {
        "id": ("bigint", [subject.pk for subject in found]),
        "usubjid": ("text", [usubjid(subject.usubjid) for subject in found]),
        "day0": ("date", [subject.day0 for subject in found]),
        "tz": ("text", [subject.time_zone for subject in found]),
        **extra,
    }
    arrays = ", ".join(f"{st.param(values)}::{kind}[]" for kind, values in columns.values())
    return (
        f"subj AS MATERIALIZED (SELECT * FROM unnest({arrays}) WITH ORDINALITY "
        f"AS s({', '.join(columns)}, ord))"
    )


def visits_sql(st: Statement) -> str:
    """`vis`: the subjects' visits as of the instant, with VISITNUM (`num` to sort by,
    `num_text` its cell) and the stored VISIT."""
    rows = as_of_sql(Visit, ("participant_id", "visit_number", "name"), st)
    return (
        f"vis AS MATERIALIZED (SELECT v.id, v.participant_id, v.visit_number::float8 AS num, "
        f"{number('v.visit_number')} AS num_text, {st.text('v.name')} AS name "
        f"FROM {rows} AS v JOIN subj ON subj.id = v.participant_id)"
    )


def records_sql(
    model: type[models.Model], columns: Sequence[str], st: Statement, *, entered: bool = True
) -> str:
    """The records of `model` as of the instant, for case report forms only those entered
    (`records(...)`); joined to `subj` by the caller."""
    if not entered:
        return as_of_sql(model, ("participant_id", *columns), st)
    rows = as_of_sql(model, ("participant_id", "entry_status", *columns), st)
    return f"(SELECT * FROM {rows} AS r WHERE r.entry_status = 'entered')"


# A record with its subject (`s`) and, when it belongs to one of the subject's visits, that
# visit (`v`); and what every findings row carries of them.
SUBJECT_AND_VISIT = (
    "JOIN subj AS s ON s.id = x.participant_id "
    "LEFT JOIN vis AS v ON v.id = x.visit_id AND v.participant_id = x.participant_id"
)
CARRIED = (
    "s.ord AS sord, s.usubjid, s.day0, v.num AS visitnum, v.num_text AS visitnum_text, "
    "v.name AS visit"
)


@dataclass(frozen=True)
class Query:
    """A dataset's statement: `columns` maps each variable to its cell, computed from `source`
    (the WITH clauses and the FROM of one row per output row), in `order`."""

    with_: tuple[str, ...]
    columns: dict[str, str]
    source: str
    order: str


SqlOf = Callable[[Statement], Query]


def statement(query: Query, names: Sequence[str]) -> str:
    """The SELECT of the variables `names` (those the export keeps), in their order."""
    unknown = set(names) - set(query.columns)
    if unknown:
        raise KeyError(f"No SQL for the variables {', '.join(sorted(unknown))}.")
    cells = ", ".join(f'{query.columns[name]} AS "{name}"' for name in names)
    return (
        f"WITH {', '.join(query.with_)} SELECT {cells} FROM {query.source} ORDER BY {query.order}"
    )


def copy_csv(
    ctx: ExportContext, sql_of: SqlOf, names: Sequence[str], path: Path, progress: Progress
) -> int:
    """Stream the dataset's statement into `path` as CSV with its header; return the rows.

    The rows are counted as lines (texts hold no line break) and reported to `progress` once
    the file is written: while COPY runs, the connection can carry no other statement, such as
    the update that records progress."""
    st = Statement(ctx)
    sql = statement(sql_of(st), names)
    lines = 0
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor
        for setting in SETTINGS:
            cursor.execute(setting)
        with path.open("wb") as out:
            copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)"
            with cursor.copy(copy_sql, st.params) as copy:
                for chunk in copy:
                    out.write(chunk)
                    lines += bytes(chunk).count(b"\n")
    rows = lines - 1  # the header
    if rows:
        progress(rows)
    return rows


def copy_available() -> bool:
    return connection.vendor == "postgresql"

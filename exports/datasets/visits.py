"""SV: the visits that took place, scheduled and unscheduled (numbered after their parent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from exports.base import Dataset, ExportContext
from exports.datasets import sql
from exports.datasets.common import (
    Layout,
    char,
    grouped,
    iso_date,
    num,
    subject_batches,
    subject_ids,
)
from exports.snapshot import as_of
from visits.models import Visit, VisitStatus

VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("SV",)),
    char("USUBJID", "Unique Subject Identifier"),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    num("VISITDY", "Planned Study Day of Visit", unit="days"),
    char("SVSTDTC", "Start Date/Time of Visit"),
    char("SVENDTC", "End Date/Time of Visit"),
    num("SVSTDY", "Study Day of Start of Visit", unit="days"),
    num("SVENDY", "Study Day of End of Visit", unit="days"),
    char("SVUPDES", "Description of Unplanned Visit"),
)
LAYOUT = Layout(VARIABLES)


def planned_study_day(protocol_day: int | None) -> int | None:
    """The SDTM day of a protocol day: Day 0 is day 1, Day 168 is day 169, Day -7 stays -7."""
    if protocol_day is None:
        return None
    return protocol_day + 1 if protocol_day >= 0 else protocol_day


def _done(ctx: ExportContext) -> Any:
    return as_of(Visit, ctx.as_of).filter(
        participant_id__in=subject_ids(ctx),
        status=VisitStatus.COMPLETED,
        actual_date__isnull=False,
    )


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    done = _done(ctx)
    for batch in subject_batches(ctx):
        visits = grouped(done, batch)
        for subject in batch:
            for visit in sorted(visits.get(subject.pk, []), key=lambda row: row.visit_number):
                day = subject.dy(visit.actual_date)
                unscheduled = visit.parent_id is not None
                yield LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "SV",
                        "USUBJID": subject.usubjid,
                        "VISITNUM": float(visit.visit_number),
                        "VISIT": visit.name,
                        "VISITDY": None if unscheduled else planned_study_day(visit.day),
                        "SVSTDTC": iso_date(visit.actual_date),
                        "SVENDTC": iso_date(visit.actual_date),
                        "SVSTDY": day,
                        "SVENDY": day,
                        "SVUPDES": visit.reason if unscheduled else "",
                    }
                )


def _sql(st: sql.Statement) -> sql.Query:
    """SV as one statement: each subject's completed visits by visit number, then record."""
    rows = sql.as_of_sql(
        Visit,
        (
            "participant_id",
            "visit_number",
            "name",
            "day",
            "actual_date",
            "status",
            "parent_id",
            "reason",
        ),
        st,
    )
    done = (
        f"done AS (SELECT x.*, s.usubjid, s.ord AS sord, s.day0 FROM {rows} AS x "
        "JOIN subj AS s ON s.id = x.participant_id "
        f"WHERE x.status = {sql.quoted(VisitStatus.COMPLETED)} AND x.actual_date IS NOT NULL)"
    )
    day = sql.integer(sql.study_day("o.actual_date", "o.day0"))
    planned = "CASE WHEN o.day >= 0 THEN o.day + 1 ELSE o.day END"
    columns = {
        "STUDYID": st.constant(st.ctx.trial.code),
        "DOMAIN": st.constant("SV"),
        "USUBJID": "o.usubjid",
        "VISITNUM": sql.number("o.visit_number"),
        "VISIT": st.text("o.name"),
        "VISITDY": f"CASE WHEN o.parent_id IS NULL THEN {sql.integer(planned)} END",
        "SVSTDTC": "o.actual_date::text",
        "SVENDTC": "o.actual_date::text",
        "SVSTDY": day,
        "SVENDY": day,
        "SVUPDES": f"CASE WHEN o.parent_id IS NOT NULL THEN {st.text('o.reason')} END",
    }
    return sql.Query(
        with_=(sql.subjects_sql(st), done),
        columns=columns,
        source="done AS o",
        order="o.sord, o.visit_number, o.id",
    )


def _count(ctx: ExportContext) -> int:
    return int(_done(ctx).count())


SV = Dataset(
    name="SV",
    label="Subject Visits",
    variables=VARIABLES,
    rows=_rows,
    count=_count,
    sql=_sql,
    keys=("USUBJID", "VISITNUM"),
)

"""SV: the visits that took place, scheduled and unscheduled (numbered after their parent), and
the planned visits that did not (missed, or recorded as not done)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from exports.base import Dataset, ExportContext
from exports.datasets.common import (
    EPOCH,
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
    EPOCH,
    char("SVSTDTC", "Start Date/Time of Visit"),
    char("SVENDTC", "End Date/Time of Visit"),
    num("SVSTDY", "Study Day of Start of Visit", unit="days"),
    num("SVENDY", "Study Day of End of Visit", unit="days"),
    char("SVUPDES", "Description of Unplanned Visit"),
    char("SVPRESP", "Pre-specified", codelist=("Y",)),
    char("SVOCCUR", "Occurrence", codelist=("N", "Y")),
    char("SVREASOC", "Reason for Occur Value"),
)
LAYOUT = Layout(VARIABLES)


def planned_study_day(protocol_day: int | None) -> int | None:
    """The SDTM day of a protocol day: Day 0 is day 1, Day 168 is day 169, Day -7 stays -7."""
    if protocol_day is None:
        return None
    return protocol_day + 1 if protocol_day >= 0 else protocol_day


# A planned visit whose window closed without it, or recorded as not done with a reason.
NOT_OCCURRED = (VisitStatus.MISSED, VisitStatus.NOT_DONE)


def _done(ctx: ExportContext) -> Any:
    """The visits SV holds as of the export instant: those done, and the planned ones that
    did not take place."""
    return as_of(Visit, ctx.as_of).filter(
        Q(status=VisitStatus.COMPLETED, actual_date__isnull=False)
        | Q(status__in=NOT_OCCURRED, parent__isnull=True),
        participant_id__in=subject_ids(ctx),
    )


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    done = _done(ctx)
    for batch in subject_batches(ctx):
        visits = grouped(done, batch)
        for subject in batch:
            for visit in sorted(visits.get(subject.pk, []), key=lambda row: row.visit_number):
                day = subject.dy(visit.actual_date)
                unscheduled = visit.parent_id is not None
                occurred = visit.status == VisitStatus.COMPLETED
                yield LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "SV",
                        "USUBJID": subject.usubjid,
                        "VISITNUM": float(visit.visit_number),
                        "VISIT": visit.name,
                        "VISITDY": None if unscheduled else planned_study_day(visit.day),
                        "EPOCH": subject.epoch(iso_date(visit.actual_date)),
                        "SVSTDTC": iso_date(visit.actual_date),
                        "SVENDTC": iso_date(visit.actual_date),
                        "SVSTDY": day,
                        "SVENDY": day,
                        "SVUPDES": visit.reason if unscheduled else "",
                        # SDTMIG 3.4: a planned visit says whether it took place.
                        "SVPRESP": "" if unscheduled else "Y",
                        "SVOCCUR": "" if unscheduled else ("Y" if occurred else "N"),
                        "SVREASOC": "" if occurred else visit.reason,
                    }
                )


def _count(ctx: ExportContext) -> int:
    return int(_done(ctx).count())


SV = Dataset(
    name="SV",
    label="Subject Visits",
    variables=VARIABLES,
    rows=_rows,
    count=_count,
    keys=("USUBJID", "VISITNUM"),
)

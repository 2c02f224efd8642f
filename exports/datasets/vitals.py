"""VS: vital signs and weight, with the timepoints around the start of an infusion.

Vital signs not done at a timepoint give one VSALL row with VSSTAT "NOT DONE" and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assessments.models import VitalSigns
from assessments.models.vitals import INFUSION_TIMEPOINTS, Timepoint
from exports.base import Dataset, ExportContext, Variable
from exports.datasets.common import (
    EPOCH,
    NOT_DONE,
    NOT_DONE_STATUS,
    Layout,
    Subject,
    VisitInfo,
    char,
    decimal_text,
    dtc_day,
    grouped,
    is_not_done,
    keys,
    num,
    number,
    records,
    subject_batches,
    visit_day,
    visit_order,
    visit_values,
    visits_of,
)
from exports.datasets.findings import Test, count_filled, last_before_exposure

VITALS = (
    ("systolic", Test("SYSBP", "Systolic Blood Pressure", "", ""), "mmHg"),
    ("diastolic", Test("DIABP", "Diastolic Blood Pressure", "", ""), "mmHg"),
    ("heart_rate", Test("HR", "Heart Rate", "", ""), "beats/min"),
    ("temperature_c", Test("TEMP", "Temperature", "", ""), "C"),
    ("respiratory_rate", Test("RESP", "Respiratory Rate", "", ""), "breaths/min"),
    ("weight_kg", Test("WEIGHT", "Weight", "", ""), "kg"),
)
# Vital signs not done at a timepoint: one --ALL record.
VITALS_ALL = Test("VSALL", "Vital Signs", "", "")
# VSTPT, VSTPTNUM and VSELTM (planned time from the start of the infusion) per timepoint.
TIMEPOINTS: dict[str, tuple[str, int | None, str]] = {
    Timepoint.VISIT: ("", None, ""),
    Timepoint.PRE_DOSE: ("PRE-DOSE", 1, ""),
    Timepoint.MIN_15: ("15 MIN AFTER START OF INFUSION", 2, "PT15M"),
    Timepoint.MIN_30: ("30 MIN AFTER START OF INFUSION", 3, "PT30M"),
    Timepoint.MIN_60: ("60 MIN AFTER START OF INFUSION", 4, "PT1H"),
    Timepoint.H_2: ("2 H AFTER START OF INFUSION", 5, "PT2H"),
}
assert tuple(TIMEPOINTS)[1:] == INFUSION_TIMEPOINTS, "VSTPTNUM follows the infusion timepoints"
START_OF_INFUSION = "START OF INFUSION"

VS_VARIABLES: tuple[Variable, ...] = (
    *keys("VS"),
    char(
        "VSTESTCD",
        "Vital Signs Test Short Name",
        length=8,
        codelist=tuple(sorted((*(test.code for _, test, _ in VITALS), VITALS_ALL.code))),
    ),
    char("VSTEST", "Vital Signs Test Name"),
    char(
        "VSORRES",
        "Result or Finding in Original Units",
        source=tuple(f"vitals.{field}" for field, _, _ in VITALS),
    ),
    char("VSORRESU", "Original Units"),
    char("VSSTRESC", "Character Result/Finding in Std Format"),
    num("VSSTRESN", "Numeric Result/Finding in Standard Units"),
    char("VSSTRESU", "Standard Units"),
    char("VSSTAT", "Completion Status", codelist=(NOT_DONE,)),
    char("VSREASND", "Reason Not Done"),
    char("VSLOBXFL", "Last Observation Before Exposure Flag", codelist=("Y",)),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    char(
        "VSTPT",
        "Planned Time Point Name",
        codelist=tuple(name for name, _, _ in TIMEPOINTS.values() if name),
    ),
    num("VSTPTNUM", "Planned Time Point Number"),
    char("VSELTM", "Planned Elapsed Time from Time Point Ref"),
    char("VSTPTREF", "Time Point Reference", codelist=(START_OF_INFUSION,)),
    EPOCH,
    char("VSDTC", "Date/Time of Measurements", source=("vitals.measured_at",)),
    num("VSDY", "Study Day of Vital Signs", unit="days"),
)
VS_LAYOUT = Layout(VS_VARIABLES)


def _subject_vital_rows(
    subject: Subject, vitals: list[Any], visits: dict[int, VisitInfo]
) -> list[dict[str, Any]]:
    found: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for row in vitals:
        name, position, elapsed = TIMEPOINTS.get(row.timepoint, ("", None, ""))
        dtc = subject.dtc(row.measured_at)
        if is_not_done(row):
            day = visit_day(visits, row.visit_id)
            key = (visit_order(visits, row.visit_id), position or 0, "", -1, row.id)
            found.append(
                (
                    key,
                    {
                        "VSTESTCD": VITALS_ALL.code,
                        "VSTEST": VITALS_ALL.name,
                        "VSSTAT": NOT_DONE,
                        "VSREASND": row.not_done_reason,
                        **visit_values(visits, row.visit_id),
                        "VSTPT": name,
                        "VSTPTNUM": position,
                        "VSELTM": elapsed,
                        "VSTPTREF": START_OF_INFUSION if position else "",
                        # Not measured: no date; its epoch is that of its visit.
                        "EPOCH": subject.epoch(day),
                        "VSDTC": "",
                        "VSDY": None,
                    },
                )
            )
            continue
        for order, (field, test, unit) in enumerate(VITALS):
            value = getattr(row, field)
            if value is None:
                continue
            key = (visit_order(visits, row.visit_id), position or 0, dtc, order, row.id)
            found.append(
                (
                    key,
                    {
                        "VSTESTCD": test.code,
                        "VSTEST": test.name,
                        "VSORRES": decimal_text(value),
                        "VSORRESU": unit,
                        "VSSTRESC": decimal_text(value),
                        "VSSTRESN": number(value),
                        "VSSTRESU": unit,
                        **visit_values(visits, row.visit_id),
                        "VSTPT": name,
                        "VSTPTNUM": position,
                        "VSELTM": elapsed,
                        "VSTPTREF": START_OF_INFUSION if position else "",
                        "EPOCH": subject.epoch(dtc),
                        "VSDTC": dtc,
                        "VSDY": subject.dy(dtc_day(dtc)),
                    },
                )
            )
    found.sort(key=lambda item: item[0])
    ordered = [values for _, values in found]
    last_before_exposure(ordered, subject.reference_day, test="VSTESTCD", prefix="VS")
    return ordered


def _vs_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    vitals_of = records(VitalSigns, ctx, entered=False)
    for batch in subject_batches(ctx):
        vitals = grouped(vitals_of, batch)
        visits = visits_of(ctx, batch, vitals)
        for subject in batch:
            rows = _subject_vital_rows(subject, vitals.get(subject.pk, []), visits)
            for seq, values in enumerate(rows, start=1):
                yield VS_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "VS",
                        "USUBJID": subject.usubjid,
                        "VSSEQ": seq,
                        **values,
                    }
                )


def _vs_count(ctx: ExportContext) -> int:
    not_done = records(VitalSigns, ctx, entered=False).filter(entry_status=NOT_DONE_STATUS)
    measured = count_filled(records(VitalSigns, ctx), tuple(field for field, _, _ in VITALS))
    return measured + int(not_done.count())


VS = Dataset(
    name="VS",
    label="Vital Signs",
    variables=VS_VARIABLES,
    rows=_vs_rows,
    count=_vs_count,
    keys=("USUBJID", "VSSEQ"),
)

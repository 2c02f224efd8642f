"""RP (reproductive system findings) from the pregnancy form, and the pregnancy tests LB holds.

SDTMIG 3.4 puts reproductive status (childbearing potential, pregnancy status as reported) in
RP and the result of a pregnancy test, a laboratory test of a specimen, in LB: the form's
"of childbearing potential" answer is RP's CHILDPOT (Y or N), and its urine or serum test is
LB's HCG (Choriogonadotropin Beta), POSITIVE or NEGATIVE, which `findings` writes with the
other laboratory tests from `pregnancy_lab_results`. A form recorded as not done gives a
CHILDPOT row and an HCG row with --STAT "NOT DONE" and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assessments.models import PregnancyTest
from assessments.models.pregnancy import PregnancyTestType
from exports.base import Dataset, ExportContext
from exports.datasets.common import (
    EPOCH,
    NOT_DONE,
    YES_NO,
    Layout,
    VisitInfo,
    char,
    dtc_day,
    grouped,
    is_not_done,
    iso_date,
    keys,
    num,
    records,
    subject_batches,
    visit_day,
    visit_order,
    visit_values,
    visits_of,
    yes_no,
)

CHILDPOT = ("CHILDPOT", "Childbearing Potential")
# LBTESTCD, LBTEST, LBCAT and LBSPEC of a pregnancy test by its specimen; a test not done has
# no specimen.
HCG = ("HCG", "Choriogonadotropin Beta")
HCG_SPECIMENS = {
    PregnancyTestType.URINE: ("URINALYSIS", "URINE"),
    PregnancyTestType.SERUM: ("CHEMISTRY", "SERUM"),
}

VARIABLES = (
    *keys("RP"),
    char("RPTESTCD", "Reproductive System Test Short Name", length=8, codelist=(CHILDPOT[0],)),
    char("RPTEST", "Reproductive System Test Name", codelist=(CHILDPOT[1],)),
    char("RPORRES", "Result or Finding in Original Units", source=("pregnancy.applicable",)),
    char("RPSTRESC", "Character Result/Finding in Std Format", codelist=YES_NO),
    char("RPSTAT", "Completion Status", codelist=(NOT_DONE,)),
    char("RPREASND", "Reason Not Done"),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    EPOCH,
    char("RPDTC", "Date/Time of Collection", source=("pregnancy.test_date",)),
    num("RPDY", "Study Day of Collection", unit="days"),
)
LAYOUT = Layout(VARIABLES)


def pregnancy_lab_results(
    row: Any,
) -> Iterator[tuple[tuple[str, str, str, str], dict[str, object]]]:
    """The LB test (code, name, category, specimen) and values of a pregnancy form: its test
    result, or the test not done with the form's reason."""
    if is_not_done(row):
        yield (*HCG, "", ""), {"LBSTAT": NOT_DONE, "LBREASND": row.not_done_reason}
        return
    if not row.result or row.test_type not in HCG_SPECIMENS:
        return
    result = row.result.upper()
    yield (*HCG, *HCG_SPECIMENS[row.test_type]), {"LBORRES": result, "LBSTRESC": result}


def _collected(row: Any, visits: dict[int, VisitInfo]) -> str:
    """The day of the test, else the day of the visit the answer was recorded at."""
    if row.test_date is not None:
        return iso_date(row.test_date)
    return visit_day(visits, row.visit_id)


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    tests_of = records(PregnancyTest, ctx, entered=False)
    for batch in subject_batches(ctx):
        tests = grouped(tests_of, batch)
        visits = visits_of(ctx, batch, tests)
        for subject in batch:
            rows = sorted(
                tests.get(subject.pk, []),
                key=lambda row: (visit_order(visits, row.visit_id), row.id),
            )
            for seq, row in enumerate(rows, start=1):
                not_done = is_not_done(row)
                answer = "" if not_done else yes_no(row.applicable)
                dtc = "" if not_done else _collected(row, visits)
                day = visit_day(visits, row.visit_id)
                yield LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "RP",
                        "USUBJID": subject.usubjid,
                        "RPSEQ": seq,
                        "RPTESTCD": CHILDPOT[0],
                        "RPTEST": CHILDPOT[1],
                        "RPORRES": answer,
                        "RPSTRESC": answer,
                        "RPSTAT": NOT_DONE if not_done else "",
                        "RPREASND": row.not_done_reason if not_done else "",
                        **visit_values(visits, row.visit_id),
                        # A test not done has no date; its epoch is that of its visit.
                        "EPOCH": subject.epoch(dtc or day),
                        "RPDTC": dtc,
                        "RPDY": subject.dy(dtc_day(dtc)),
                    }
                )


def _count(ctx: ExportContext) -> int:
    return int(records(PregnancyTest, ctx, entered=False).count())


RP = Dataset(
    name="RP",
    label="Reproductive System Findings",
    variables=VARIABLES,
    rows=_rows,
    count=_count,
    keys=("USUBJID", "RPSEQ"),
)

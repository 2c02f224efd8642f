"""RELREC: the relationships between datasets that the forms record, declared once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from assessments.models import RenalAssessment
from exports.base import Dataset, ExportContext
from exports.datasets.common import char, records
from exports.datasets.findings import RENAL_LINK

ONE, MANY = "ONE", "MANY"


@dataclass(frozen=True)
class Related:
    """One side of a relationship between datasets: the domain, the variable whose equal
    values relate its records, and whether one or many of them relate to the other side."""

    domain: str
    idvar: str
    reltype: str


def _renal_assessed(ctx: ExportContext) -> bool:
    return bool(records(RenalAssessment, ctx).exists())


# Each renal assessment gives LB values (proteinuria, creatinine, eGFR, sediment) and the renal
# responses derived from them in RS; the records of one assessment share their --LNKID. Each
# relationship is stated once some record of the export has it.
RELATIONSHIPS: tuple[tuple[str, tuple[Related, ...], Callable[[ExportContext], bool]], ...] = (
    (
        RENAL_LINK,
        (Related("LB", "LBLNKID", MANY), Related("RS", "RSLNKID", MANY)),
        _renal_assessed,
    ),
)

VARIABLES = (
    char("STUDYID", "Study Identifier", origin="Assigned"),
    char(
        "RDOMAIN",
        "Related Domain Abbreviation",
        codelist=tuple(sorted({side.domain for _, sides, _ in RELATIONSHIPS for side in sides})),
        origin="Assigned",
    ),
    char("USUBJID", "Unique Subject Identifier", origin="Assigned"),
    char("IDVAR", "Identifying Variable", origin="Assigned"),
    char("IDVARVAL", "Identifying Variable Value", origin="Assigned"),
    char("RELTYPE", "Relationship Type", codelist=(MANY, ONE), origin="Assigned"),
    char("RELID", "Relationship Identifier", origin="Assigned"),
)


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    """Relationships between datasets (SDTMIG 3.4 section 8.3): no subject, no value; the
    records whose --LNKID values are equal are related."""
    found = [
        (ctx.trial.code, side.domain, "", side.idvar, "", side.reltype, relid)
        for relid, sides, present in RELATIONSHIPS
        if present(ctx)
        for side in sides
    ]
    yield from sorted(found, key=lambda row: (row[1], row[3], row[6]))


RELREC = Dataset(
    name="RELREC",
    label="Related Records",
    variables=VARIABLES,
    rows=_rows,
    count=lambda ctx: sum(len(sides) for _, sides, present in RELATIONSHIPS if present(ctx)),
    keys=("RDOMAIN", "IDVAR", "RELID"),
)

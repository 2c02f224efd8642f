"""EC: the study infusion as collected while blinded. EX: what was given, for unblinded exports."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from assessments.models import Infusion
from exports.base import Dataset, ExportContext, Supplemental
from exports.datasets.allocation import allocations
from exports.datasets.common import (
    EPOCH,
    YES_NO,
    Definitions,
    Layout,
    char,
    dtc_day,
    grouped,
    keys,
    num,
    number,
    records,
    subject_batches,
    visit_order,
    visit_values,
    visits_of,
    yes_no,
)

INTRAVENOUS = "INTRAVENOUS"
# What a blinded reader knows: an infusion of the study product, MSC or placebo alike.
BLINDED_TREATMENT = "STUDY INFUSION"


def _field(name: str) -> tuple[str, ...]:
    return (f"infusion.{name}",)


EC_VARIABLES = (
    *keys("EC"),
    char("ECTRT", "Name of Treatment", codelist=(BLINDED_TREATMENT,)),
    char("ECMOOD", "Mood", codelist=("PERFORMED",)),
    char("ECOCCUR", "Occurrence", codelist=YES_NO, source=_field("given")),
    char("ECREASOC", "Reason for Occur Value", source=_field("not_given_reason")),
    num("ECDOSE", "Dose", unit="mL", source=_field("volume_ml")),
    char("ECDOSU", "Dose Units", codelist=("mL",)),
    char("ECROUTE", "Route of Administration", codelist=(INTRAVENOUS,)),
    char("ECADJ", "Reason for Dose Adjustment", source=_field("interruption_details")),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    EPOCH,
    char("ECSTDTC", "Start Date/Time of Treatment", source=_field("start_time")),
    char("ECENDTC", "End Date/Time of Treatment", source=_field("stop_time")),
    num("ECSTDY", "Study Day of Start of Treatment", unit="days"),
    num("ECENDY", "Study Day of End of Treatment", unit="days"),
)
EC_LAYOUT = Layout(EC_VARIABLES)


def _ec_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    infusions_of = records(Infusion, ctx)
    for batch in subject_batches(ctx):
        infusions = grouped(infusions_of, batch)
        visits = visits_of(ctx, batch, infusions)
        for subject in batch:
            rows = sorted(
                infusions.get(subject.pk, []),
                key=lambda row: (visit_order(visits, row.visit_id), row.id),
            )
            for seq, row in enumerate(rows, start=1):
                start, end = subject.dtc(row.start_time), subject.dtc(row.stop_time)
                yield EC_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "EC",
                        "USUBJID": subject.usubjid,
                        "ECSEQ": seq,
                        "ECTRT": BLINDED_TREATMENT,
                        "ECMOOD": "PERFORMED",
                        "ECOCCUR": yes_no(row.given),
                        "ECREASOC": row.not_given_reason,
                        "ECDOSE": number(row.volume_ml),
                        "ECDOSU": "mL" if row.volume_ml is not None else "",
                        "ECROUTE": INTRAVENOUS,
                        "ECADJ": row.interruption_details if row.interrupted else "",
                        **visit_values(visits, row.visit_id),
                        "EPOCH": subject.epoch(start),
                        "ECSTDTC": start,
                        "ECENDTC": end,
                        "ECSTDY": subject.dy(dtc_day(start)),
                        "ECENDY": subject.dy(dtc_day(end)),
                    }
                )


def _ec_count(ctx: ExportContext) -> int:
    return int(records(Infusion, ctx).count())


EC = Dataset(
    name="EC",
    label="Exposure as Collected",
    variables=EC_VARIABLES,
    rows=_ec_rows,
    count=_ec_count,
    keys=("USUBJID", "ECSEQ"),
)

CELLS = "10^6 CELLS"
EX_VARIABLES = (
    *keys("EX"),
    char("EXTRT", "Name of Treatment", revealing=True, source=_field("arm")),
    num("EXDOSE", "Dose", unit=CELLS, revealing=True, source=_field("cell_count_1e6")),
    char("EXDOSU", "Dose Units", codelist=(CELLS,)),
    num(
        "EXDOSKG",
        "Viable Cells Administered per kg",
        unit="cells/kg",
        revealing=True,
        source=_field("cell_count_1e6"),
        supplemental=Supplemental("Derived"),
    ),
    num(
        "EXPDOSKG",
        "Planned Dose per kg",
        unit="cells/kg",
        revealing=True,
        source=_field("dose_cells_per_kg"),
        supplemental=Supplemental("Protocol"),
    ),
    num(
        "EXVIAB",
        "Viability",
        unit="%",
        revealing=True,
        source=_field("viability_pct"),
        supplemental=Supplemental("Collected"),
    ),
    char("EXLOT", "Lot Number", revealing=True, source=_field("product_lot")),
    char(
        "EXKITNO",
        "Kit Number",
        revealing=True,
        source=_field("kit_number"),
        supplemental=Supplemental("Collected"),
    ),
    num("EXVAMT", "Treatment Vehicle Amount", unit="mL", source=_field("volume_ml")),
    char("EXVAMTU", "Treatment Vehicle Amount Units", codelist=("mL",)),
    char("EXROUTE", "Route of Administration", codelist=(INTRAVENOUS,)),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    EPOCH,
    char("EXSTDTC", "Start Date/Time of Treatment", source=_field("start_time")),
    char("EXENDTC", "End Date/Time of Treatment", source=_field("stop_time")),
    num("EXSTDY", "Study Day of Start of Treatment", unit="days"),
    num("EXENDY", "Study Day of End of Treatment", unit="days"),
)
EX_LAYOUT = Layout(EX_VARIABLES)


def _per_kg(cells_1e6: Decimal | None, weight_kg: Decimal | None) -> float | None:
    if cells_1e6 is None or not weight_kg:
        return None
    return float(cells_1e6 * Decimal(1_000_000) / weight_kg)


def _ex_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    definitions = Definitions(ctx)
    given_of = records(Infusion, ctx).filter(given=True)
    for batch in subject_batches(ctx):
        given = grouped(given_of, batch)
        if not given:
            continue
        visits = visits_of(ctx, batch, given)
        arms = allocations(ctx, batch, definitions)
        for subject in batch:
            arm = arms.get(subject.pk)
            rows = sorted(
                given.get(subject.pk, []),
                key=lambda row: (visit_order(visits, row.visit_id), row.id),
            )
            for seq, row in enumerate(rows, start=1):
                start, end = subject.dtc(row.start_time), subject.dtc(row.stop_time)
                yield EX_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "EX",
                        "USUBJID": subject.usubjid,
                        "EXSEQ": seq,
                        "EXTRT": arm.name.upper() if arm else "",
                        "EXDOSE": number(row.cell_count_1e6),
                        "EXDOSU": CELLS if row.cell_count_1e6 is not None else "",
                        "EXDOSKG": _per_kg(row.cell_count_1e6, row.weight_kg),
                        "EXPDOSKG": (0.0 if arm.placebo else arm.cells_per_kg) if arm else None,
                        "EXVIAB": number(row.viability_pct),
                        "EXLOT": row.product_lot,
                        "EXKITNO": row.kit_number,
                        "EXVAMT": number(row.volume_ml),
                        "EXVAMTU": "mL" if row.volume_ml is not None else "",
                        "EXROUTE": INTRAVENOUS,
                        **visit_values(visits, row.visit_id),
                        "EPOCH": subject.epoch(start),
                        "EXSTDTC": start,
                        "EXENDTC": end,
                        "EXSTDY": subject.dy(dtc_day(start)),
                        "EXENDY": subject.dy(dtc_day(end)),
                    }
                )


def _ex_count(ctx: ExportContext) -> int:
    return int(records(Infusion, ctx).filter(given=True).count())


EX = Dataset(
    name="EX",
    label="Exposure",
    variables=EX_VARIABLES,
    rows=_ex_rows,
    count=_ex_count,
    unblinded_only=True,
    keys=("USUBJID", "EXSEQ"),
)

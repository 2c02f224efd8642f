"""LB: laboratory tests, the renal panel (eGFR derived) and pregnancy tests.

A form recorded as not done gives rows with LBSTAT "NOT DONE" and its reason as LBREASND: the
laboratory panel one LBALL row ("Labs Data"), the renal assessment a row per test it collects
(the derived eGFR aside), the pregnancy form an HCG row (VS: `vitals`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count

from assessments.models import LabResults, PregnancyTest, RenalAssessment
from assessments.models.labs import (
    ANALYTES,
    SEROLOGY_FIELDS,
    TbMethod,
    flag_field,
    lln_field,
    uln_field,
    unit_field,
    value_field,
)
from assessments.models.renal import SpecimenType
from exports.base import Dataset, ExportContext, Variable
from exports.datasets.common import (
    ENTERED,
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
    iso_date,
    keys,
    num,
    number,
    records,
    revealing_sources,
    subject_batches,
    visit_day,
    visit_order,
    visit_values,
    visits_of,
)
from exports.datasets.reproductive import HCG, HCG_SPECIMENS, pregnancy_lab_results

RANGE_FLAGS = {"L": "LOW", "N": "NORMAL", "H": "HIGH"}


@dataclass(frozen=True)
class Test:
    code: str
    name: str
    category: str
    specimen: str
    method: str = ""


# Test codes follow CDISC controlled terminology where it has one; the casts, the TB tests and
# the anti-HLA details are local names.
LAB_TESTS = {
    "haemoglobin": Test("HGB", "Hemoglobin", "HEMATOLOGY", "BLOOD"),
    "wbc": Test("WBC", "Leukocytes", "HEMATOLOGY", "BLOOD"),
    "neutrophils": Test("NEUT", "Neutrophils", "HEMATOLOGY", "BLOOD"),
    "lymphocytes": Test("LYM", "Lymphocytes", "HEMATOLOGY", "BLOOD"),
    "platelets": Test("PLAT", "Platelets", "HEMATOLOGY", "BLOOD"),
    "c3": Test("C3", "Complement C3", "IMMUNOLOGY", "SERUM"),
    "c4": Test("C4", "Complement C4", "IMMUNOLOGY", "SERUM"),
    "anti_dsdna": Test("DSDNAAB", "Anti-dsDNA Antibody", "IMMUNOLOGY", "SERUM"),
    "ch50": Test("CH50", "Total Hemolytic Complement", "IMMUNOLOGY", "SERUM"),
    "albumin": Test("ALB", "Albumin", "CHEMISTRY", "SERUM"),
    "proteinuria_24h": Test(
        "PROT", "Protein", "URINALYSIS", "URINE", method="24-HOUR URINE COLLECTION"
    ),
}
ANA = Test("ANA", "Antinuclear Antibodies", "IMMUNOLOGY", "SERUM")
SEROLOGY_TESTS = {
    "hiv_result": Test("HIV12AB", "HIV-1/2 Antibody", "SEROLOGY", "SERUM"),
    "hbsag_result": Test("HBSAG", "Hepatitis B Virus Surface Antigen", "SEROLOGY", "SERUM"),
    "anti_hbc_result": Test("HBCAB", "Hepatitis B Virus Core Antibody", "SEROLOGY", "SERUM"),
    "hcv_result": Test("HCAB", "Hepatitis C Virus Antibody", "SEROLOGY", "SERUM"),
}
TB_TESTS = {
    TbMethod.IGRA: Test(
        "MTBIGRA",
        "M. tuberculosis IFN Gamma Release Assay",
        "IMMUNOLOGY",
        "BLOOD",
        method="INTERFERON GAMMA RELEASE ASSAY",
    ),
    TbMethod.PPD: Test(
        "TBSKNTST",
        "Tuberculin Skin Test",
        "IMMUNOLOGY",
        "SKIN",
        method="TUBERCULIN SKIN TEST",
    ),
}
HLA_AB = Test("HLAAB", "HLA Antibody", "IMMUNOLOGY", "SERUM")
HLA_MFI = Test("HLAABMFI", "HLA Antibody Highest MFI", "IMMUNOLOGY", "SERUM")
HLA_DSA = Test("HLADSA", "Donor-Specific HLA Antibody", "IMMUNOLOGY", "SERUM")
QUALITATIVE_TESTS = (ANA, *SEROLOGY_TESTS.values(), *TB_TESTS.values(), HLA_AB, HLA_MFI, HLA_DSA)
UPCR = Test("PROTCRT", "Protein/Creatinine Ratio", "URINALYSIS", "URINE")
CREATININE = Test("CREAT", "Creatinine", "CHEMISTRY", "SERUM")
URINE_RBC = Test("RBC", "Erythrocytes", "URINALYSIS", "URINE")
URINE_WBC = Test("WBC", "Leukocytes", "URINALYSIS", "URINE")
RBC_CASTS = Test("RBCCAST", "Erythrocyte Casts", "URINALYSIS", "URINE")
CELL_CASTS = Test("CELLCAST", "Cellular Casts", "URINALYSIS", "URINE")
EGFR = Test("EGFR", "Estimated Glomerular Filtration Rate", "CHEMISTRY", "SERUM")
# A whole laboratory panel not done (SDTMIG 4.5.1.2: one --ALL record for the panel).
LABS_ALL = Test("LBALL", "Labs Data", "", "")
# Pregnancy tests by specimen, and one not done, whose specimen is not known.
HCG_TESTS = (
    *(Test(*HCG, category, specimen) for category, specimen in HCG_SPECIMENS.values()),
    Test(*HCG, "", ""),
)
EGFR_UNIT = "mL/min/1.73m2"
RENAL_TESTS = (UPCR, CREATININE, URINE_RBC, URINE_WBC, RBC_CASTS, CELL_CASTS, EGFR)
SPECIMEN_METHOD = {
    SpecimenType.URINE_24H: "24-HOUR URINE COLLECTION",
    SpecimenType.SPOT: "SPOT URINE",
}
# The renal form's field behind each test, counted when not empty.
RENAL_FIELDS = {
    UPCR: "upcr_value",
    CREATININE: "serum_creatinine_value",
    URINE_RBC: "urine_rbc_hpf",
    URINE_WBC: "urine_wbc_hpf",
    RBC_CASTS: "rbc_casts",
    CELL_CASTS: "cellular_casts",
    EGFR: "egfr",
}
ALL_LAB_TESTS = (*LAB_TESTS.values(), *QUALITATIVE_TESTS, *RENAL_TESTS, *HCG_TESTS, LABS_ALL)
QUALITATIVE_SOURCES = (
    "ana_result",
    "ana_titre",
    *SEROLOGY_TESTS,
    "tb_result",
    "anti_hla_result",
    "anti_hla_mfi",
)
# Tests whose rows come from one field that a protocol may mark as revealing the allocation
# (donor-specific antibodies arise only against the donor of the cells): a blinded export
# leaves those rows out, and keeps the other results of the same variables.
ROW_SOURCES: dict[str, str] = {HLA_DSA.code: "labs.anti_hla_dsa"}


def _lab_sources() -> tuple[str, ...]:
    return (
        *(f"labs.{value_field(code)}" for code in LAB_TESTS),
        *(f"labs.{name}" for name in QUALITATIVE_SOURCES),
        *(f"renal.{field}" for field in RENAL_FIELDS.values()),
        "pregnancy.result",
    )


# --LNKID of the LB values and the RS responses of one renal assessment (see RELREC).
RENAL_LINK = "RENAL"


def link_id(label: str) -> Variable:
    return char(label, "Link ID", origin="Assigned")


def renal_links(renal: list[Any], visits: dict[int, VisitInfo]) -> dict[int, str]:
    """The --LNKID of each renal assessment of one subject, by record id: RENAL-1, RENAL-2,
    ... in visit and date order. Only an entered assessment has one: one recorded as not done
    has no responses in RS to relate its LB rows to."""
    ordered = sorted(
        (row for row in renal if row.entry_status == ENTERED),
        key=lambda row: (visit_order(visits, row.visit_id), iso_date(row.assessment_date), row.id),
    )
    return {row.id: f"{RENAL_LINK}-{number}" for number, row in enumerate(ordered, start=1)}


LB_VARIABLES: tuple[Variable, ...] = (
    *keys("LB"),
    link_id("LBLNKID"),
    char(
        "LBTESTCD",
        "Lab Test or Examination Short Name",
        length=8,
        codelist=tuple(sorted({test.code for test in ALL_LAB_TESTS})),
    ),
    char("LBTEST", "Lab Test or Examination Name"),
    char(
        "LBCAT",
        "Category for Lab Test",
        codelist=tuple(sorted({test.category for test in ALL_LAB_TESTS} - {""})),
    ),
    char("LBORRES", "Result or Finding in Original Units", source=_lab_sources()),
    char("LBORRESU", "Original Units"),
    char("LBORNRLO", "Reference Range Lower Limit in Orig Unit"),
    char("LBORNRHI", "Reference Range Upper Limit in Orig Unit"),
    char("LBSTRESC", "Character Result/Finding in Std Format"),
    num("LBSTRESN", "Numeric Result/Finding in Standard Units"),
    char("LBSTRESU", "Standard Units"),
    num("LBSTNRLO", "Reference Range Lower Limit-Std Units"),
    num("LBSTNRHI", "Reference Range Upper Limit-Std Units"),
    char("LBNRIND", "Reference Range Indicator", codelist=tuple(sorted(RANGE_FLAGS.values()))),
    char("LBSTAT", "Completion Status", codelist=(NOT_DONE,)),
    char("LBREASND", "Reason Test Not Done"),
    char(
        "LBSPEC",
        "Specimen Type",
        codelist=("BLOOD", "SERUM", "SKIN", "URINE"),
        source=("pregnancy.test_type",),
    ),
    char("LBMETHOD", "Method of Test or Examination"),
    char("LBLOBXFL", "Last Observation Before Exposure Flag", codelist=("Y",)),
    char("LBDRVFL", "Derived Flag", codelist=("Y",)),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    EPOCH,
    char("LBDTC", "Date/Time of Specimen Collection"),
    num("LBDY", "Study Day of Specimen Collection", unit="days"),
)
LB_LAYOUT = Layout(LB_VARIABLES)


def _scaled(value: Decimal | None, factor: Decimal | None) -> Decimal | None:
    return value * factor if value is not None and factor is not None else None


def _lab_results(row: Any) -> Iterator[tuple[Test, dict[str, object]]]:
    for analyte in ANALYTES:
        value = getattr(row, value_field(analyte.code))
        if value is None:
            continue
        unit = getattr(row, unit_field(analyte.code))
        lln = getattr(row, lln_field(analyte.code))
        uln = getattr(row, uln_field(analyte.code))
        factor = analyte.units.get(unit)
        standard = _scaled(value, factor)
        yield (
            LAB_TESTS[analyte.code],
            {
                "LBORRES": decimal_text(value),
                "LBORRESU": unit,
                "LBORNRLO": decimal_text(lln),
                "LBORNRHI": decimal_text(uln),
                "LBSTRESC": decimal_text(standard),
                "LBSTRESN": number(standard),
                "LBSTRESU": analyte.canonical if standard is not None else "",
                "LBSTNRLO": number(_scaled(lln, factor)),
                "LBSTNRHI": number(_scaled(uln, factor)),
                "LBNRIND": RANGE_FLAGS.get(getattr(row, flag_field(analyte.code)), ""),
            },
        )
    yield from _qualitative_results(row)


def _text(text: str) -> dict[str, object]:
    return {"LBORRES": text, "LBSTRESC": text}


def _qualitative_results(row: Any) -> Iterator[tuple[Test, dict[str, object]]]:
    """ANA as NEGATIVE or its titre 1:N, serology and TB as POSITIVE, NEGATIVE or
    INDETERMINATE, anti-HLA antibodies with their highest MFI and donor-specificity."""
    if row.ana_result == "negative":
        yield ANA, _text("NEGATIVE")
    elif row.ana_result and row.ana_titre is not None:
        yield ANA, _text(f"1:{row.ana_titre}")
    for name, _label in SEROLOGY_FIELDS:
        if getattr(row, name):
            yield SEROLOGY_TESTS[name], _text(getattr(row, name).upper())
    if row.tb_method and row.tb_result:
        yield TB_TESTS[row.tb_method], _text(row.tb_result.upper())
    if row.anti_hla_result:
        yield HLA_AB, _text(row.anti_hla_result.upper())
    if row.anti_hla_mfi is not None:
        mfi = Decimal(row.anti_hla_mfi)
        yield HLA_MFI, _numeric(mfi, "MFI", mfi, "MFI")
    if row.anti_hla_dsa is not None:
        yield HLA_DSA, _presence(row.anti_hla_dsa)


def _numeric(
    original: Decimal | None, unit: str, standard: Any, std_unit: str
) -> dict[str, object]:
    return {
        "LBORRES": decimal_text(original),
        "LBORRESU": unit,
        "LBSTRESC": decimal_text(standard),
        "LBSTRESN": number(standard),
        "LBSTRESU": std_unit if standard is not None else "",
    }


def _presence(value: bool) -> dict[str, object]:
    return _text("POSITIVE" if value else "NEGATIVE")


def _equation(name: str, version: str) -> str:
    """The eGFR equation with its version, e.g. CKD-EPI 2021 (race-free)."""
    return name if version in name else f"{name} {version}".strip()


def _renal_results(row: Any) -> Iterator[tuple[Test, dict[str, object]]]:
    if row.upcr_value is not None:
        yield (
            UPCR,
            {
                **_numeric(row.upcr_value, row.upcr_unit, row.upcr_g_g, "g/g"),
                "LBMETHOD": SPECIMEN_METHOD.get(row.specimen_type, ""),
            },
        )
    if row.serum_creatinine_value is not None:
        yield (
            CREATININE,
            _numeric(
                row.serum_creatinine_value, row.creatinine_unit, row.creatinine_mg_dl, "mg/dL"
            ),
        )
    for test, value in ((URINE_RBC, row.urine_rbc_hpf), (URINE_WBC, row.urine_wbc_hpf)):
        if value is not None:
            yield test, _numeric(value, "/HPF", value, "/HPF")
    for test, present in ((RBC_CASTS, row.rbc_casts), (CELL_CASTS, row.cellular_casts)):
        if present is not None:
            yield test, _presence(present)
    if row.egfr is not None:
        unit = EGFR_UNIT
        yield (
            EGFR,
            {
                **_numeric(row.egfr, unit, row.egfr, unit),
                "LBMETHOD": _equation(row.egfr_equation, row.egfr_version),
                "LBDRVFL": "Y",
            },
        )


TEST_ORDER = {(test.code, test.specimen): index for index, test in enumerate(ALL_LAB_TESTS)}


def last_before_exposure(
    rows: list[dict[str, Any]], day0: date | None, *, test: str, prefix: str
) -> None:
    """Flag, per test and specimen, the last result dated on or before Day 0 (in row order);
    a timepoint after the start of the infusion (VSTPTNUM above 1) is after exposure."""
    if day0 is None:
        return
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        day = dtc_day(row[f"{prefix}DTC"])
        after_start = (row.get(f"{prefix}TPTNUM") or 0) > 1
        if day is not None and day <= day0 and not after_start and row[f"{prefix}ORRES"] != "":
            last[(row[test], row.get("LBSPEC", ""))] = row
    for row in last.values():
        row[f"{prefix}LOBXFL"] = "Y"


def _pregnancy_results(row: Any) -> Iterator[tuple[Test, dict[str, object]]]:
    for fields, values in pregnancy_lab_results(row):
        yield Test(*fields), values


Results = Callable[[Any], Iterator[tuple[Test, dict[str, object]]]]
# Per source form: how its results are read, the field dating them, and the tests a record of
# it recorded as not done stands for.
LAB_SOURCES: tuple[tuple[Results, str, tuple[Test, ...]], ...] = (
    (_lab_results, "sample_date", (LABS_ALL,)),
    (_renal_results, "assessment_date", tuple(test for test in RENAL_TESTS if test != EGFR)),
    (_pregnancy_results, "test_date", ()),
)


def _not_done(row: Any, tests: tuple[Test, ...]) -> Iterator[tuple[Test, dict[str, object]]]:
    for test in tests:
        yield test, {"LBSTAT": NOT_DONE, "LBREASND": row.not_done_reason}


def _subject_lab_rows(
    subject: Subject, sources: tuple[list[Any], ...], visits: dict[int, VisitInfo]
) -> list[dict[str, Any]]:
    """The LB rows of a subject from the rows of each of LAB_SOURCES, in the same order."""
    found: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    renal = LAB_MODELS.index(RenalAssessment)
    links = renal_links(sources[renal], visits)
    for source, (rows, (results, when, not_done)) in enumerate(
        zip(sources, LAB_SOURCES, strict=True)
    ):
        for row in rows:
            skipped = is_not_done(row)
            # A test not done has no date; its epoch is that of its visit.
            dtc = "" if skipped else iso_date(getattr(row, when))
            day = dtc or visit_day(visits, row.visit_id)
            tests = _not_done(row, not_done) if skipped and not_done else results(row)
            link = {"LBLNKID": links[row.id]} if source == renal and row.id in links else {}
            for test, values in tests:
                key = (
                    visit_order(visits, row.visit_id),
                    dtc,
                    source,
                    TEST_ORDER[(test.code, test.specimen)],
                    row.id,
                )
                found.append(
                    (
                        key,
                        {
                            "LBTESTCD": test.code,
                            "LBTEST": test.name,
                            "LBCAT": test.category,
                            "LBSPEC": test.specimen,
                            **({"LBMETHOD": test.method} if test.method else {}),
                            **values,
                            **link,
                            **visit_values(visits, row.visit_id),
                            "EPOCH": subject.epoch(day),
                            "LBDTC": dtc,
                            "LBDY": subject.dy(dtc_day(dtc)),
                        },
                    )
                )
    found.sort(key=lambda item: item[0])
    ordered = [values for _, values in found]
    last_before_exposure(ordered, subject.reference_day, test="LBTESTCD", prefix="LB")
    return ordered


LAB_MODELS = (LabResults, RenalAssessment, PregnancyTest)


def _lb_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    sources_of = [records(model, ctx, entered=False) for model in LAB_MODELS]
    revealing = revealing_sources(ctx) if ctx.blinded else frozenset()
    hidden = {code for code, source in ROW_SOURCES.items() if source in revealing}
    for batch in subject_batches(ctx):
        groups = [grouped(queryset, batch) for queryset in sources_of]
        visits = visits_of(ctx, batch, *groups)
        for subject in batch:
            rows = [
                values
                for values in _subject_lab_rows(
                    subject, tuple(group.get(subject.pk, []) for group in groups), visits
                )
                if values["LBTESTCD"] not in hidden
            ]
            for seq, values in enumerate(rows, start=1):
                yield LB_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "LB",
                        "USUBJID": subject.usubjid,
                        "LBSEQ": seq,
                        **values,
                    }
                )


def count_filled(queryset: Any, fields: tuple[str, ...]) -> int:
    """How many of `fields` are not empty, summed over the rows of `queryset`."""
    if not fields:
        return 0
    totals = queryset.aggregate(**{f"n{index}": Count(name) for index, name in enumerate(fields)})
    return sum(int(value or 0) for value in totals.values())


def _lb_count(ctx: ExportContext) -> int:
    lab_fields = tuple(value_field(analyte.code) for analyte in ANALYTES)
    # A form not done counts the rows it stands for: a pregnancy test's is its HCG row.
    not_done = sum(
        int(records(model, ctx, entered=False).filter(entry_status=NOT_DONE_STATUS).count())
        * (len(tests) or 1)
        for model, (_, _, tests) in zip(LAB_MODELS, LAB_SOURCES, strict=True)
    )
    tests = records(PregnancyTest, ctx).exclude(result="").filter(test_type__in=HCG_SPECIMENS)
    return (
        count_filled(records(LabResults, ctx), lab_fields)
        + count_filled(records(RenalAssessment, ctx), tuple(RENAL_FIELDS.values()))
        + int(tests.count())
        + not_done
    )


LB = Dataset(
    name="LB",
    label="Laboratory Test Results",
    variables=LB_VARIABLES,
    rows=_lb_rows,
    count=_lb_count,
    keys=("USUBJID", "LBSEQ"),
)

"""AE (adverse events), CM (concomitant medications) and DV (confirmed protocol deviations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from assessments.models import ConcomitantMedication, ProtocolDeviation
from assessments.models.conmed import Frequency, MedicationCategory, Route
from assessments.models.deviation import DeviationCategory, DeviationState, Severity
from coding.models import CodedKind, Coding
from exports.base import Dataset, ExportContext, Supplemental
from exports.datasets.common import (
    EPOCH,
    YES_NO,
    Layout,
    char,
    dtc_day,
    grouped,
    iso_date,
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
from exports.datasets.supplemental import filled_count
from exports.snapshot import as_of, stream
from safety.models import ActionTaken, AdverseEvent, AesiCategory, Causality, Outcome
from trials.definitions import definition_of

ONGOING = "ONGOING"
CAUSALITY = {code: label.upper() for code, label in Causality.choices}
ACTIONS = {
    ActionTaken.NONE: "DOSE NOT CHANGED",
    ActionTaken.DOSE_INTERRUPTED: "DRUG INTERRUPTED",
    ActionTaken.DRUG_WITHDRAWN: "DRUG WITHDRAWN",
    ActionTaken.NOT_APPLICABLE: "NOT APPLICABLE",
}
OUTCOMES = {
    Outcome.RECOVERED: "RECOVERED/RESOLVED",
    Outcome.RECOVERING: "RECOVERING/RESOLVING",
    Outcome.NOT_RECOVERED: "NOT RECOVERED/NOT RESOLVED",
    Outcome.RECOVERED_WITH_SEQUELAE: "RECOVERED/RESOLVED WITH SEQUELAE",
    Outcome.FATAL: "FATAL",
    Outcome.UNKNOWN: "UNKNOWN",
}
# How the sponsor variables SDTMIG does not define in AE and CM reach SUPPAE and SUPPCM.
COLLECTED = Supplemental("Collected")
BY_SPONSOR = Supplemental("Collected", evaluator="SPONSOR")
DERIVED = Supplemental("Derived")
ASSIGNED = Supplemental("Assigned")
SERIOUSNESS = (
    ("AESDTH", "Results in Death", "death"),
    ("AESLIFE", "Is Life Threatening", "life_threatening"),
    ("AESHOSP", "Requires or Prolongs Hospitalization", "hospitalisation"),
    ("AESDISAB", "Persist or Signif Disability/Incapacity", "disability"),
    ("AESCONG", "Congenital Anomaly or Birth Defect", "congenital_anomaly"),
    ("AESMIE", "Other Medically Important Serious Event", "medically_important"),
)


def _ae(name: str) -> tuple[str, ...]:
    return (f"adverse_events.{name}",)


# The MedDRA primary path of the coded term: the form keeps the lowest level term, the preferred
# term and the system organ class; the coding keeps the high level (group) terms between them.
MEDDRA = (
    ("AELLT", "Lowest Level Term", "llt_name"),
    ("AELLTCD", "Lowest Level Term Code", "llt_code"),
    ("AEDECOD", "Dictionary-Derived Term", "pt_name"),
    ("AEPTCD", "Preferred Term Code", "pt_code"),
    ("AEHLT", "High Level Term", ""),
    ("AEHLTCD", "High Level Term Code", ""),
    ("AEHLGT", "High Level Group Term", ""),
    ("AEHLGTCD", "High Level Group Term Code", ""),
    ("AEBODSYS", "Body System or Organ Class", "soc_name"),
    ("AEBDSYCD", "Body System or Organ Class Code", "soc_code"),
    ("AESOC", "Primary System Organ Class", "soc_name"),
    ("AESOCCD", "Primary System Organ Class Code", "soc_code"),
)
# The protocol parameter that maps AESEV from the CTCAE grade, and its one value that does.
AESEV_PARAMETER = "aesev_mapping"
AESEV_FROM_GRADE = "ctcae_grade"
SEVERITIES_BY_GRADE = {"MILD": (1,), "MODERATE": (2,), "SEVERE": (3, 4, 5)}
SEVERITY = {grade: name for name, grades in SEVERITIES_BY_GRADE.items() for grade in grades}
AESEV_METHOD = (
    "From the CTCAE grade (AETOXGR) when the protocol maps severity from it "
    f"(parameters.{AESEV_PARAMETER}: {AESEV_FROM_GRADE}): grade 1 MILD, grade 2 MODERATE, "
    "grade 3 or higher SEVERE; empty without a grade or without the mapping."
)


def severity(grade: int | None) -> str:
    """AESEV of a CTCAE grade."""
    return SEVERITY.get(grade, "") if grade is not None else ""


def maps_severity(ctx: ExportContext) -> bool:
    """Whether the protocol version of the export maps AESEV from the CTCAE grade."""
    parameter = definition_of(ctx.protocol_version).parameters.get(AESEV_PARAMETER)
    return parameter is not None and parameter.value == AESEV_FROM_GRADE


AE_VARIABLES = (
    *keys("AE"),
    char("AETERM", "Reported Term for the Adverse Event", source=_ae("verbatim_term")),
    *(
        char(name, label, source=_ae(field) if field else (), origin="Assigned")
        for name, label, field in MEDDRA
    ),
    char("AEDICT", "Dictionary Version", source=_ae("dictionary_version"), supplemental=ASSIGNED),
    char("AETOXGR", "Standard Toxicity Grade", codelist=("1", "2", "3", "4", "5")),
    char(
        "AESEV",
        "Severity/Intensity",
        codelist=tuple(SEVERITIES_BY_GRADE),
        source=_ae("ctcae_grade"),
        origin="Derived",
        method=AESEV_METHOD,
    ),
    char("AESER", "Serious Event", codelist=YES_NO),
    *(char(name, label, codelist=YES_NO, source=_ae(field)) for name, label, field in SERIOUSNESS),
    char("AEREL", "Causality", codelist=tuple(CAUSALITY.values())),
    char(
        "AESPREL",
        "Causality (Sponsor)",
        codelist=tuple(CAUSALITY.values()),
        source=_ae("sponsor_causality"),
        supplemental=BY_SPONSOR,
    ),
    char(
        "AEEXPECT",
        "Expectedness",
        codelist=("EXPECTED", "UNEXPECTED"),
        source=_ae("expectedness"),
        supplemental=BY_SPONSOR,
    ),
    char("AEACN", "Action Taken with Study Treatment", codelist=tuple(ACTIONS.values())),
    char("AEOUT", "Outcome of Adverse Event", codelist=tuple(OUTCOMES.values())),
    char(
        "AESI",
        "Adverse Event of Special Interest",
        codelist=YES_NO,
        source=_ae("special_interest"),
        supplemental=COLLECTED,
    ),
    char(
        "AESICAT",
        "Category of Special Interest",
        codelist=tuple(value.upper() for value in AesiCategory.values),
        source=_ae("aesi_category"),
        supplemental=COLLECTED,
    ),
    EPOCH,
    char("AESTDTC", "Start Date/Time of Adverse Event", source=_ae("onset_date")),
    char("AEENDTC", "End Date/Time of Adverse Event", source=_ae("end_date")),
    num("AESTDY", "Study Day of Start of Adverse Event", unit="days"),
    num("AEENDY", "Study Day of End of Adverse Event", unit="days"),
    char("AEENRF", "End Relative to Reference Period", codelist=(ONGOING,)),
)
AE_LAYOUT = Layout(AE_VARIABLES)


def _ae_values(row: Any) -> dict[str, object]:
    return {
        "AETERM": row.verbatim_term,
        **{name: getattr(row, field) for name, _, field in MEDDRA if field},
        "AEDICT": row.dictionary_version,
        "AETOXGR": str(row.ctcae_grade) if row.ctcae_grade is not None else "",
        "AESER": yes_no(row.serious),
        **{name: yes_no(getattr(row, field)) for name, _, field in SERIOUSNESS},
        "AEREL": CAUSALITY.get(row.investigator_causality, ""),
        "AESPREL": CAUSALITY.get(row.sponsor_causality, ""),
        "AEEXPECT": row.expectedness.upper(),
        "AEACN": ACTIONS.get(row.action_taken, ""),
        "AEOUT": OUTCOMES.get(row.outcome, ""),
        "AESI": yes_no(row.special_interest),
        "AESICAT": row.aesi_category.upper(),
        "AESTDTC": row.onset_date,
        "AEENDTC": row.end_date,
        "AEENRF": ONGOING if row.ongoing else "",
    }


NO_PATH = dict.fromkeys(("AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD"), "")


def _high_level_terms(
    ctx: ExportContext, events: dict[int, list[Any]]
) -> dict[int, dict[str, str]]:
    """AEHLT to AEHLGTCD of the events coded as of the export instant, by event id: from the
    coding, when it gave the lowest level term the event carries."""
    carried = {row.id: row.llt_code for rows in events.values() for row in rows if row.llt_code}
    if not carried:
        return {}
    codings = (
        as_of(Coding, ctx.as_of)
        .filter(trial_id=ctx.trial.pk, kind=CodedKind.ADVERSE_EVENT, record_id__in=list(carried))
        .order_by()
        .values_list("record_id", "code", "hlt_name", "hlt_code", "hlgt_name", "hlgt_code")
    )
    return {
        record_id: {"AEHLT": hlt, "AEHLTCD": hlt_code, "AEHLGT": hlgt, "AEHLGTCD": hlgt_code}
        for record_id, code, hlt, hlt_code, hlgt, hlgt_code in stream(codings)
        if carried.get(record_id) == code
    }


def _ae_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    events_of = records(AdverseEvent, ctx)
    mapped = maps_severity(ctx)
    for batch in subject_batches(ctx):
        events = grouped(events_of, batch)
        paths = _high_level_terms(ctx, events)
        for subject in batch:
            rows = sorted(events.get(subject.pk, []), key=lambda row: (row.onset_date, row.id))
            for seq, row in enumerate(rows, start=1):
                yield AE_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "AE",
                        "USUBJID": subject.usubjid,
                        "AESEQ": seq,
                        **_ae_values(row),
                        **paths.get(row.id, NO_PATH),
                        "AESEV": severity(row.ctcae_grade) if mapped else "",
                        "EPOCH": subject.epoch(row.onset_date),
                        # Partial dates stay partial and have no study day.
                        "AESTDY": subject.dy(dtc_day(row.onset_date)),
                        "AEENDY": subject.dy(dtc_day(row.end_date)),
                    }
                )


def _ae_count(ctx: ExportContext) -> int:
    return int(records(AdverseEvent, ctx).count())


# The records that have a value of each supplemental variable, as `_ae_values` writes them.
AE_FILLED = {
    "AEDICT": ~Q(dictionary_version=""),
    "AESPREL": Q(sponsor_causality__in=list(CAUSALITY)),
    "AEEXPECT": ~Q(expectedness=""),
    "AESI": Q(special_interest__isnull=False),
    "AESICAT": ~Q(aesi_category=""),
}


def _suppae_count(ctx: ExportContext, qnams: frozenset[str]) -> int:
    return filled_count(records(AdverseEvent, ctx), AE_FILLED, qnams)


AE = Dataset(
    name="AE",
    label="Adverse Events",
    variables=AE_VARIABLES,
    rows=_ae_rows,
    count=_ae_count,
    keys=("USUBJID", "AESEQ"),
    supplemental_count=_suppae_count,
)

FREQUENCIES = {
    Frequency.ONCE: "ONCE",
    Frequency.DAILY: "QD",
    Frequency.TWICE_DAILY: "BID",
    Frequency.THREE_TIMES_DAILY: "TID",
    Frequency.WEEKLY: "QS",
    Frequency.EVERY_2_WEEKS: "Q2S",
    Frequency.MONTHLY: "QM",
    Frequency.AS_NEEDED: "PRN",
    Frequency.OTHER: "OTHER",
}
CATEGORIES = {code: label.upper() for code, label in MedicationCategory.choices}
ROUTES = {code: label.upper() for code, label in Route.choices}


def _cm(name: str) -> tuple[str, ...]:
    return (f"conmed.{name}",)


CM_VARIABLES = (
    *keys("CM"),
    char("CMTRT", "Reported Name of Drug, Med, or Therapy", source=_cm("medication")),
    char("CMDECOD", "Standardized Medication Name", source=_cm("coded_term")),
    char("CMCAT", "Category for Medication", codelist=tuple(CATEGORIES.values())),
    num("CMDOSE", "Dose per Administration", source=_cm("dose")),
    char("CMDOSU", "Dose Units", source=_cm("dose_unit")),
    char("CMDOSFRQ", "Dosing Frequency per Interval", codelist=tuple(FREQUENCIES.values())),
    char("CMROUTE", "Route of Administration", codelist=tuple(ROUTES.values())),
    char("CMINDC", "Indication", source=_cm("indication")),
    char("CMDICT", "Dictionary Version", source=_cm("dictionary_version"), supplemental=ASSIGNED),
    num("CMPREDEQ", "Prednisone-Equivalent Dose", unit="mg/day", supplemental=DERIVED),
    char("CMRESCUE", "Rescue Therapy", codelist=YES_NO, supplemental=DERIVED),
    EPOCH,
    char("CMSTDTC", "Start Date/Time of Medication", source=_cm("start_date")),
    char("CMENDTC", "End Date/Time of Medication", source=_cm("end_date")),
    num("CMSTDY", "Study Day of Start of Medication", unit="days"),
    num("CMENDY", "Study Day of End of Medication", unit="days"),
    char("CMENRF", "End Relative to Reference Period", codelist=(ONGOING,)),
)
CM_LAYOUT = Layout(CM_VARIABLES)


def _cm_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    medications_of = records(ConcomitantMedication, ctx)
    for batch in subject_batches(ctx):
        medications = grouped(medications_of, batch)
        for subject in batch:
            rows = sorted(
                medications.get(subject.pk, []),
                key=lambda row: (row.start_date, row.medication, row.id),
            )
            for seq, row in enumerate(rows, start=1):
                yield CM_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "CM",
                        "USUBJID": subject.usubjid,
                        "CMSEQ": seq,
                        "CMTRT": row.medication,
                        "CMDECOD": row.coded_term,
                        "CMCAT": CATEGORIES.get(row.category, ""),
                        "CMDOSE": number(row.dose),
                        "CMDOSU": row.dose_unit,
                        "CMDOSFRQ": FREQUENCIES.get(row.frequency, ""),
                        "CMROUTE": ROUTES.get(row.route, ""),
                        "CMINDC": row.indication,
                        "CMDICT": row.dictionary_version,
                        "CMPREDEQ": number(row.prednisone_equivalent_mg_day),
                        "CMRESCUE": yes_no(row.is_rescue),
                        "EPOCH": subject.epoch(row.start_date),
                        "CMSTDTC": row.start_date,
                        "CMENDTC": row.end_date,
                        "CMSTDY": subject.dy(dtc_day(row.start_date)),
                        "CMENDY": subject.dy(dtc_day(row.end_date)),
                        "CMENRF": ONGOING if row.ongoing else "",
                    }
                )


def _cm_count(ctx: ExportContext) -> int:
    return int(records(ConcomitantMedication, ctx).count())


CM_FILLED = {
    "CMDICT": ~Q(dictionary_version=""),
    "CMPREDEQ": Q(prednisone_equivalent_mg_day__isnull=False),
    "CMRESCUE": Q(is_rescue__isnull=False),
}


def _suppcm_count(ctx: ExportContext, qnams: frozenset[str]) -> int:
    return filled_count(records(ConcomitantMedication, ctx), CM_FILLED, qnams)


CM = Dataset(
    name="CM",
    label="Concomitant Medications",
    variables=CM_VARIABLES,
    rows=_cm_rows,
    count=_cm_count,
    keys=("USUBJID", "CMSEQ"),
    supplemental_count=_suppcm_count,
)

DEVIATIONS = {code: label.upper() for code, label in DeviationCategory.choices}
SEVERITIES = {code: label.upper() for code, label in Severity.choices}

DV_VARIABLES = (
    *keys("DV"),
    char("DVTERM", "Protocol Deviation Term", source=("deviation.description",)),
    char("DVDECOD", "Protocol Deviation Coded Term", codelist=tuple(DEVIATIONS.values())),
    char("DVCAT", "Category for Protocol Deviation", codelist=tuple(SEVERITIES.values())),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    EPOCH,
    char("DVSTDTC", "Start Date/Time of Deviation", source=("deviation.occurred_on",)),
    num("DVSTDY", "Study Day of Start of Deviation", unit="days"),
)
DV_LAYOUT = Layout(DV_VARIABLES)


def _confirmed(ctx: ExportContext) -> Any:
    # Drafts await confirmation and dismissed findings were never deviations.
    return records(ProtocolDeviation, ctx).filter(state=DeviationState.CONFIRMED)


def _dv_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    deviations_of = _confirmed(ctx)
    for batch in subject_batches(ctx):
        deviations = grouped(deviations_of, batch)
        visits = visits_of(ctx, batch, deviations)
        for subject in batch:
            rows = sorted(
                deviations.get(subject.pk, []),
                key=lambda row: (
                    iso_date(row.occurred_on),
                    visit_order(visits, row.visit_id),
                    row.id,
                ),
            )
            for seq, row in enumerate(rows, start=1):
                yield DV_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "DV",
                        "USUBJID": subject.usubjid,
                        "DVSEQ": seq,
                        "DVTERM": row.description,
                        "DVDECOD": DEVIATIONS.get(row.category, ""),
                        "DVCAT": SEVERITIES.get(row.severity, ""),
                        **visit_values(visits, row.visit_id),
                        "EPOCH": subject.epoch(iso_date(row.occurred_on)),
                        "DVSTDTC": iso_date(row.occurred_on),
                        "DVSTDY": subject.dy(row.occurred_on),
                    }
                )


def _dv_count(ctx: ExportContext) -> int:
    return int(_confirmed(ctx).count())


DV = Dataset(
    name="DV",
    label="Protocol Deviations",
    variables=DV_VARIABLES,
    rows=_dv_rows,
    count=_dv_count,
    keys=("USUBJID", "DVSEQ"),
)

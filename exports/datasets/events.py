"""AE (adverse events), CM (concomitant medications) and DV (confirmed protocol deviations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assessments.models import ConcomitantMedication, ProtocolDeviation
from assessments.models.conmed import Frequency, MedicationCategory, Route
from assessments.models.deviation import DeviationCategory, DeviationState, Severity
from exports.base import Dataset, ExportContext
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
from safety.models import ActionTaken, AdverseEvent, AesiCategory, Causality, Outcome

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


AE_VARIABLES = (
    *keys("AE"),
    char("AETERM", "Reported Term for the Adverse Event", source=_ae("verbatim_term")),
    char("AELLT", "Lowest Level Term", source=_ae("llt_name")),
    char("AELLTCD", "Lowest Level Term Code", source=_ae("llt_code")),
    char("AEDECOD", "Dictionary-Derived Term", source=_ae("pt_name")),
    char("AEPTCD", "Preferred Term Code", source=_ae("pt_code")),
    char("AEBODSYS", "Body System or Organ Class", source=_ae("soc_name")),
    char("AEBDSYCD", "Body System or Organ Class Code", source=_ae("soc_code")),
    char("AEDICT", "Dictionary Version", source=_ae("dictionary_version")),
    char("AETOXGR", "Standard Toxicity Grade", codelist=("1", "2", "3", "4", "5")),
    char("AESER", "Serious Event", codelist=YES_NO),
    *(char(name, label, codelist=YES_NO, source=_ae(field)) for name, label, field in SERIOUSNESS),
    char("AEREL", "Causality", codelist=tuple(CAUSALITY.values())),
    char("AESPREL", "Causality (Sponsor)", codelist=tuple(CAUSALITY.values())),
    char("AEEXPECT", "Expectedness", codelist=("EXPECTED", "UNEXPECTED")),
    char("AEACN", "Action Taken with Study Treatment", codelist=tuple(ACTIONS.values())),
    char("AEOUT", "Outcome of Adverse Event", codelist=tuple(OUTCOMES.values())),
    char("AESI", "Adverse Event of Special Interest", codelist=YES_NO),
    char(
        "AESICAT",
        "Category of Special Interest",
        codelist=tuple(value.upper() for value in AesiCategory.values),
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
        "AELLT": row.llt_name,
        "AELLTCD": row.llt_code,
        "AEDECOD": row.pt_name,
        "AEPTCD": row.pt_code,
        "AEBODSYS": row.soc_name,
        "AEBDSYCD": row.soc_code,
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


def _ae_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    events_of = records(AdverseEvent, ctx)
    for batch in subject_batches(ctx):
        events = grouped(events_of, batch)
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
                        "EPOCH": subject.epoch(row.onset_date),
                        # Partial dates stay partial and have no study day.
                        "AESTDY": subject.dy(dtc_day(row.onset_date)),
                        "AEENDY": subject.dy(dtc_day(row.end_date)),
                    }
                )


def _ae_count(ctx: ExportContext) -> int:
    return int(records(AdverseEvent, ctx).count())


AE = Dataset(
    name="AE",
    label="Adverse Events",
    variables=AE_VARIABLES,
    rows=_ae_rows,
    count=_ae_count,
    keys=("USUBJID", "AESEQ"),
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
    char("CMDICT", "Dictionary Version", source=_cm("dictionary_version")),
    num("CMPREDEQ", "Prednisone-Equivalent Dose", unit="mg/day"),
    char("CMRESCUE", "Rescue Therapy", codelist=YES_NO),
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


CM = Dataset(
    name="CM",
    label="Concomitant Medications",
    variables=CM_VARIABLES,
    rows=_cm_rows,
    count=_cm_count,
    keys=("USUBJID", "CMSEQ"),
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

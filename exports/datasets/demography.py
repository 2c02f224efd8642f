"""DM: one row per participant, with reference dates, demography and (unblinded) the arm."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from assessments.models import Infusion
from exports.base import Dataset, ExportContext
from exports.datasets.allocation import allocations
from exports.datasets.common import (
    Definitions,
    Layout,
    Subject,
    char,
    grouped,
    iso_date,
    num,
    records,
    subject_batches,
    subject_ids,
)
from trials.models import Consent, ParticipantStatus

ARM_SOURCE = ("infusion.arm",)
NOT_ASSIGNED = "NOT ASSIGNED"
SCREEN_FAILURE = "SCREEN FAILURE"
NOT_TREATED = "ASSIGNED, NOT TREATED"

VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("DM",)),
    char("USUBJID", "Unique Subject Identifier"),
    char("SUBJID", "Subject Identifier for the Study"),
    char("RFSTDTC", "Subject Reference Start Date/Time"),
    char("RFXSTDTC", "Date/Time of First Study Treatment", source=("infusion.start_time",)),
    char("RFXENDTC", "Date/Time of Last Study Treatment", source=("infusion.stop_time",)),
    char("RFICDTC", "Date/Time of Informed Consent"),
    char("RFPENDTC", "Date/Time of End of Participation"),
    char("SITEID", "Study Site Identifier"),
    num("AGE", "Age", unit="years"),
    char("AGEU", "Age Units", codelist=("YEARS",)),
    char("SEX", "Sex", codelist=("F", "M")),
    char("RACE", "Race"),
    char("ETHNIC", "Ethnicity"),
    char("ARMCD", "Planned Arm Code", revealing=True, source=ARM_SOURCE),
    char("ARM", "Description of Planned Arm", revealing=True, source=ARM_SOURCE),
    char("ACTARMCD", "Actual Arm Code", revealing=True, source=ARM_SOURCE),
    char("ACTARM", "Description of Actual Arm", revealing=True, source=ARM_SOURCE),
    char(
        "ARMNRS",
        "Reason Arm and/or Actual Arm is Null",
        codelist=(NOT_TREATED, NOT_ASSIGNED, SCREEN_FAILURE),
    ),
    char("COUNTRY", "Country"),
)
LAYOUT = Layout(VARIABLES)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _null_arm_reason(subject: Subject, treated: bool) -> str:
    if subject.status == ParticipantStatus.SCREEN_FAILED:
        return SCREEN_FAILURE
    if subject.randomized_at is None:
        return NOT_ASSIGNED
    return "" if treated else NOT_TREATED


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    definitions = Definitions(ctx)
    consents_of = records(Consent, ctx, entered=False)
    infusions_of = records(Infusion, ctx).filter(given=True)
    for batch in subject_batches(ctx):
        consents = grouped(consents_of, batch)
        infusions = grouped(infusions_of, batch)
        arms = {} if ctx.blinded else allocations(ctx, batch, definitions)
        for subject in batch:
            consent_dates = [row.consent_date for row in consents.get(subject.pk, [])]
            first_consent = min(consent_dates) if consent_dates else None
            given = infusions.get(subject.pk, [])
            starts = [row.start_time for row in given if row.start_time is not None]
            stops = [row.stop_time for row in given if row.stop_time is not None]
            age_day = first_consent or subject.local_date(subject.registered_at)
            values: dict[str, object] = {
                "STUDYID": ctx.trial.code,
                "DOMAIN": "DM",
                "USUBJID": subject.usubjid,
                "SUBJID": subject.subjid,
                "RFSTDTC": iso_date(subject.reference_day),
                "RFXSTDTC": subject.dtc(min(starts)) if starts else "",
                "RFXENDTC": subject.dtc(max(stops)) if stops else "",
                "RFICDTC": iso_date(first_consent),
                "RFPENDTC": iso_date(subject.local_date(subject.ended_at)),
                "SITEID": subject.site_code,
                "AGE": age_on(subject.date_of_birth, age_day) if age_day else None,
                "AGEU": "YEARS",
                "SEX": subject.sex,
                # Not collected by this eCRF; kept so the domain has its expected variables.
                "RACE": "",
                "ETHNIC": "",
                "ARMNRS": _null_arm_reason(subject, bool(given)),
                "COUNTRY": _alpha3(subject.country),
            }
            arm = arms.get(subject.pk)
            if arm is not None:
                values |= {"ARMCD": arm.code, "ARM": arm.name}
                if given:
                    values |= {"ACTARMCD": arm.code, "ACTARM": arm.name}
            yield LAYOUT.row(values)


# ISO 3166-1 alpha-3, which SDTM COUNTRY uses, for the countries of the shipped protocols;
# any other country is written as the alpha-2 code the site was set up with.
ALPHA3 = {
    "AR": "ARG",
    "BR": "BRA",
    "CL": "CHL",
    "CO": "COL",
    "DE": "DEU",
    "ES": "ESP",
    "FR": "FRA",
    "GB": "GBR",
    "IT": "ITA",
    "MX": "MEX",
    "PE": "PER",
    "PT": "PRT",
    "US": "USA",
}


def _alpha3(country: str) -> str:
    return ALPHA3.get(country.upper(), country.upper())


def _count(ctx: ExportContext) -> int:
    return subject_ids(ctx).count()


DM = Dataset(
    name="DM",
    label="Demographics",
    variables=VARIABLES,
    rows=_rows,
    count=_count,
    keys=("USUBJID",),
)

"""DM: one row per participant, with reference dates, death, demography and the arm (masked
in a blinded export)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db.models import Q

from assessments.models import EndOfStudy, Infusion
from assessments.models.end_of_study import EndStatus
from exports.base import Dataset, ExportContext
from exports.datasets.allocation import Allocation, allocations
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
from safety.models import AdverseEvent, Outcome
from trials.models import Consent, ParticipantStatus

ARM_SOURCE = ("infusion.arm",)
NOT_ASSIGNED = "NOT ASSIGNED"
SCREEN_FAILURE = "SCREEN FAILURE"
NOT_TREATED = "ASSIGNED, NOT TREATED"
# What a blinded export writes for the arm of every participant allocated one (and, for the
# actual arm, given the study infusion): one value for all, so nothing tells the arms apart.
BLINDED_ARMCD = "BLINDED"
BLINDED_ARM = "Blinded"

VARIABLES = (
    char("STUDYID", "Study Identifier"),
    char("DOMAIN", "Domain Abbreviation", codelist=("DM",)),
    char("USUBJID", "Unique Subject Identifier"),
    char("SUBJID", "Subject Identifier for the Study"),
    char("RFSTDTC", "Subject Reference Start Date/Time"),
    char("RFENDTC", "Subject Reference End Date/Time"),
    char("RFXSTDTC", "Date/Time of First Study Treatment", source=("infusion.start_time",)),
    char("RFXENDTC", "Date/Time of Last Study Treatment", source=("infusion.stop_time",)),
    char("RFICDTC", "Date/Time of Informed Consent"),
    char("RFPENDTC", "Date/Time of End of Participation"),
    char("DTHDTC", "Date/Time of Death"),
    char("DTHFL", "Subject Death Flag", codelist=("Y",)),
    char("SITEID", "Study Site Identifier"),
    num("AGE", "Age", unit="years"),
    char("AGEU", "Age Units", codelist=("YEARS",)),
    char("SEX", "Sex", codelist=("F", "M")),
    char("RACE", "Race"),
    char("ETHNIC", "Ethnicity"),
    char("ARMCD", "Planned Arm Code", source=ARM_SOURCE, masked=BLINDED_ARMCD),
    char("ARM", "Description of Planned Arm", source=ARM_SOURCE, masked=BLINDED_ARM),
    char("ACTARMCD", "Actual Arm Code", source=ARM_SOURCE, masked=BLINDED_ARMCD),
    char("ACTARM", "Description of Actual Arm", source=ARM_SOURCE, masked=BLINDED_ARM),
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


def _null_arm_reason(subject: Subject, *, treated: bool) -> str:
    if subject.status == ParticipantStatus.SCREEN_FAILED:
        return SCREEN_FAILURE
    if subject.randomized_at is None:
        return NOT_ASSIGNED
    return "" if treated else NOT_TREATED


ENDED = frozenset(
    (
        ParticipantStatus.SCREEN_FAILED,
        ParticipantStatus.COMPLETED,
        ParticipantStatus.WITHDRAWN,
        ParticipantStatus.LOST_TO_FOLLOW_UP,
    )
)
FATAL = Q(outcome=Outcome.FATAL) | Q(death=True)


def _death(end: Any, fatal: list[Any]) -> tuple[str, str]:
    """DTHFL and DTHDTC: death recorded at the end of study (on the last contact date) or an
    adverse event that was fatal (on its end date, partial dates kept partial)."""
    if end is not None and end.status == EndStatus.DEATH:
        return "Y", iso_date(end.last_contact_date)
    if fatal:
        return "Y", max((row.end_date for row in fatal), default="")
    return "", ""


def _participation_end(subject: Subject, end: Any) -> str:
    """RFPENDTC: the last known contact of a participant whose participation has ended."""
    if subject.status not in ENDED:
        return ""
    days = [subject.local_date(subject.ended_at)]
    if end is not None:
        days.append(end.last_contact_date)
    known = [day for day in days if day is not None]
    return iso_date(max(known)) if known else ""


def _blinded_arm(subject: Subject) -> Allocation | None:
    """A blinded export knows only whether an arm was allocated, never which."""
    if _null_arm_reason(subject, treated=True):
        return None
    return Allocation(BLINDED_ARMCD, BLINDED_ARM, False, None)


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    definitions = Definitions(ctx)
    consents_of = records(Consent, ctx, entered=False)
    infusions_of = records(Infusion, ctx).filter(given=True)
    ends_of = records(EndOfStudy, ctx)
    fatal_of = records(AdverseEvent, ctx).filter(FATAL)
    for batch in subject_batches(ctx):
        consents = grouped(consents_of, batch)
        infusions = grouped(infusions_of, batch)
        ends = grouped(ends_of, batch)
        fatal = grouped(fatal_of, batch)
        arms = {} if ctx.blinded else allocations(ctx, batch, definitions)
        for subject in batch:
            consent_dates = [row.consent_date for row in consents.get(subject.pk, [])]
            first_consent = min(consent_dates) if consent_dates else None
            given = infusions.get(subject.pk, [])
            starts = [row.start_time for row in given if row.start_time is not None]
            stops = [row.stop_time for row in given if row.stop_time is not None]
            age_day = first_consent or subject.local_date(subject.registered_at)
            end = next(iter(ends.get(subject.pk, [])), None)
            died, death_dtc = _death(end, fatal.get(subject.pk, []))
            arm = _blinded_arm(subject) if ctx.blinded else arms.get(subject.pk)
            values: dict[str, object] = {
                "STUDYID": ctx.trial.code,
                "DOMAIN": "DM",
                "USUBJID": subject.usubjid,
                "SUBJID": subject.subjid,
                "RFSTDTC": iso_date(subject.reference_day),
                # The day participation ended, for a participant allocated an arm.
                "RFENDTC": iso_date(subject.local_date(subject.ended_at)) if arm else "",
                "RFXSTDTC": subject.dtc(min(starts)) if starts else "",
                "RFXENDTC": subject.dtc(max(stops)) if stops else "",
                "RFICDTC": iso_date(first_consent),
                "RFPENDTC": _participation_end(subject, end),
                "DTHDTC": death_dtc,
                "DTHFL": died,
                "SITEID": subject.site_code,
                "AGE": age_on(subject.date_of_birth, age_day) if age_day else None,
                "AGEU": "YEARS",
                "SEX": subject.sex,
                # Not collected by this eCRF; kept so the domain has its expected variables.
                "RACE": "",
                "ETHNIC": "",
                "ARMNRS": _null_arm_reason(subject, treated=bool(given)),
                "COUNTRY": _alpha3(subject.country),
            }
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

"""What every dataset shares: subjects and visits as of the export instant, ISO 8601 dates, days."""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import QuerySet

from assessments.models import Infusion
from casebook.catalogue import form_types
from exports.base import ExportContext, Supplemental, Variable
from exports.snapshot import as_of, batched, stream
from trials.definitions import definition_of
from trials.models import Participant, ProtocolVersion, Site
from trials.protocol import ProtocolDefinition
from visits.models import Visit

# Subjects whose records are read together: bounds the memory a dataset holds at once.
SUBJECT_BATCH = 500
ENTERED = "entered"
# A case report form recorded as not done, and the --STAT its findings then carry.
NOT_DONE_STATUS = "not_done"
NOT_DONE = "NOT DONE"


def char(
    name: str,
    label: str,
    *,
    length: int = 200,
    codelist: tuple[str, ...] = (),
    unit: str = "",
    revealing: bool = False,
    source: tuple[str, ...] = (),
    masked: str = "",
    supplemental: Supplemental | None = None,
    origin: str = "",
    method: str = "",
) -> Variable:
    return Variable(
        name,
        label,
        "Char",
        length,
        unit,
        codelist,
        revealing=revealing,
        source=source,
        masked=masked,
        supplemental=supplemental,
        origin=origin,
        method=method,
    )


def num(
    name: str,
    label: str,
    *,
    unit: str = "",
    codelist: tuple[str, ...] = (),
    revealing: bool = False,
    source: tuple[str, ...] = (),
    supplemental: Supplemental | None = None,
) -> Variable:
    return Variable(
        name,
        label,
        "Num",
        8,
        unit,
        codelist,
        revealing=revealing,
        source=source,
        supplemental=supplemental,
    )


def keys(domain: str) -> tuple[Variable, ...]:
    """STUDYID, DOMAIN, USUBJID and --SEQ, the first variables of every domain but DM."""
    return (
        char("STUDYID", "Study Identifier"),
        char("DOMAIN", "Domain Abbreviation", codelist=(domain,)),
        char("USUBJID", "Unique Subject Identifier"),
        num(f"{domain}SEQ", "Sequence Number"),
    )


YES_NO = ("N", "Y")


def yes_no(value: bool | None) -> str:
    return "" if value is None else ("Y" if value else "N")


class Layout:
    """Turns the named values of one row into a tuple in the order of the variables."""

    def __init__(self, variables: tuple[Variable, ...]) -> None:
        self.variables = variables
        self._names = tuple(variable.name for variable in variables)
        self._known = frozenset(self._names)
        if len(self._known) != len(variables):
            raise ValueError("A dataset names a variable twice.")

    def row(self, values: Mapping[str, object]) -> tuple[object, ...]:
        if not values.keys() <= self._known:
            unknown = ", ".join(sorted(values.keys() - self._known))
            raise KeyError(f"Not a variable of this dataset: {unknown}.")
        return tuple(map(values.get, self._names))


def study_day(day: date | None, reference: date | None) -> int | None:
    """SDTM --DY: day - reference + 1 on or after the reference day, else day - reference.
    There is no day 0; without both complete dates there is no study day."""
    if day is None or reference is None:
        return None
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


def iso_date(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def iso_datetime(moment: datetime | None, time_zone: str) -> str:
    """ISO 8601 local date and time at the site, to the minute (seconds when recorded)."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(time_zone))
    text = local.strftime("%Y-%m-%dT%H:%M")
    return text + local.strftime(":%S") if local.second else text


def dtc_day(dtc: str) -> date | None:
    """The calendar day of a --DTC value when it is complete to the day; never imputed."""
    if len(dtc) < 10:
        return None
    try:
        return date.fromisoformat(dtc[:10])
    except ValueError:
        return None


# Decimals remembered with their text: results and limits repeat from row to row. Equal
# Decimals (12.5, 12.50) have the same text. Bounded, so memory stays flat.
DECIMAL_MEMO = 4096
_DECIMAL_TEXTS: dict[Decimal, str] = {}


def decimal_text(value: Decimal | float | int | None) -> str:
    """A number as collected, without trailing zeros or exponent: 12.5000 -> 12.5."""
    if value is None:
        return ""
    remembered = type(value) is Decimal
    if remembered and (text := _DECIMAL_TEXTS.get(value)) is not None:  # type: ignore[arg-type]
        return text
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    text = format(number.normalize(), "f")
    text = "0" if text in ("-0", "") else text
    if remembered and len(_DECIMAL_TEXTS) < DECIMAL_MEMO:
        _DECIMAL_TEXTS[number] = text
    return text


def number(value: Decimal | float | int | None) -> float | None:
    return float(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Subject:
    """A participant as recorded at the export instant, with the site it belongs to."""

    pk: int
    usubjid: str
    subjid: str
    site_code: str
    country: str
    time_zone: str
    protocol_version_id: int
    sex: str
    date_of_birth: date
    status: str
    registered_at: datetime
    randomized_at: datetime | None
    randomization_number: str
    stage_code: str
    cohort_id: int | None
    # Protocol Day 0 as recorded at the export instant: planned until the infusion is given.
    day0: date | None
    ended_at: datetime | None
    end_reason: str
    screen_failure_reason: str
    # RFSTDTC: the day of the first study infusion given by the export instant, None before it.
    reference_day: date | None = None
    # When the treatment element began: the local start of that infusion, to the minute (its
    # day when no start time was entered); empty before it.
    reference_start: str = ""

    def epoch(self, dtc: str) -> str:
        """EPOCH of a record dated `dtc`, from the elements (see `epoch_of`)."""
        return epoch_of(dtc, self.reference_start)

    def dy(self, day: date | None) -> int | None:
        """Study day against RFSTDTC, the day of the first infusion given by the export instant;
        a planned Day 0 that had not happened yet gives no study day."""
        return study_day(day, self.reference_day)

    def dtc(self, moment: datetime | None) -> str:
        return iso_datetime(moment, self.time_zone)

    def local_date(self, moment: datetime | None) -> date | None:
        return moment.astimezone(ZoneInfo(self.time_zone)).date() if moment else None


@dataclass(frozen=True)
class VisitInfo:
    """A visit as recorded at the export instant."""

    pk: int
    number: float
    code: str
    name: str
    kind: str
    day: int | None
    actual_date: date | None
    status: str
    parent_id: int | None
    reason: str


# The Visit columns behind each field of VisitInfo, in its order.
VISIT_COLUMNS = (
    "id",
    "visit_number",
    "code",
    "name",
    "kind",
    "day",
    "actual_date",
    "status",
    "parent_id",
    "reason",
)


def subject_ids(ctx: ExportContext) -> QuerySet[Any]:
    """The ids of the trial's participants registered at the export instant, as a subquery."""
    return as_of(Participant, ctx.as_of).filter(trial_id=ctx.trial.pk).values("id")


def _sites(ctx: ExportContext) -> dict[int, Any]:
    sites: dict[int, Any] = {
        site.id: site for site in stream(as_of(Site, ctx.as_of).filter(trial_id=ctx.trial.pk))
    }
    # A site written without a history record still exists; read it as it is.
    for site in Site.objects.filter(trial=ctx.trial).exclude(pk__in=list(sites)):
        sites[site.pk] = site
    return sites


# Within `shared_subjects()`, the subjects each context read, so that the datasets of one
# export read them once.
_SHARED: ContextVar[dict[ExportContext, list[Subject]] | None] = ContextVar(
    "shared_subjects", default=None
)


@contextmanager
def shared_subjects() -> Iterator[None]:
    """Read the subjects of a context once for everything written inside the block."""
    if _SHARED.get() is not None:
        yield  # already shared by an enclosing block
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def subjects(ctx: ExportContext) -> list[Subject]:
    """Every participant of the trial at the export instant, in USUBJID order."""
    shared = _SHARED.get()
    if shared is None:
        return _read_subjects(ctx)
    if ctx not in shared:
        shared[ctx] = _read_subjects(ctx)
    return shared[ctx]


# The Participant columns a Subject is built from, after its site.
SUBJECT_COLUMNS = (
    "id",
    "site_id",
    "subject_id",
    "screening_number",
    "protocol_version_id",
    "sex",
    "date_of_birth",
    "status",
    "registered_at",
    "randomized_at",
    "randomization_number",
    "stage_code",
    "cohort_id",
    "day0",
    "ended_at",
    "end_reason",
    "screen_failure_reason",
)


def first_infusions(ctx: ExportContext) -> dict[int, datetime | None]:
    """The participants given a study infusion by the export instant, each with the earliest
    start time recorded (None when a given infusion has no start time yet)."""
    found: dict[int, datetime | None] = {}
    given = records(Infusion, ctx).filter(given=True).order_by()
    for participant_id, start in stream(given.values_list("participant_id", "start_time")):
        earliest = found.get(participant_id)
        found[participant_id] = (
            start if earliest is None or (start and start < earliest) else earliest
        )
    return found


SCREENING = "SCREENING"
TREATMENT = "TREATMENT"
EPOCH = char("EPOCH", "Epoch", codelist=(SCREENING, TREATMENT))


def epoch_of(dtc: str, treatment_start: str) -> str:
    """The EPOCH of a record dated `dtc` (ISO 8601, perhaps partial): SCREENING before the
    start of the treatment element (the first infusion given), TREATMENT from it on. Dates
    are compared at the precision both have; a record dated only by the day of the first
    infusion falls in TREATMENT, whose element starts that day, and a partial date that
    straddles the start (the month of the infusion) has no epoch. Without a date, none."""
    if not dtc:
        return ""
    if not treatment_start:
        return SCREENING
    common = min(len(dtc), len(treatment_start))
    mine, start = dtc[:common], treatment_start[:common]
    if mine < start:
        return SCREENING
    if mine > start or common >= 10:
        return TREATMENT
    return ""


def _reference_day(day0: date | None, time_zone: str, start: datetime | None) -> date | None:
    """RFSTDTC of a participant given the infusion: the local day it started, or Day 0 as
    recorded when no start time was entered."""
    return start.astimezone(ZoneInfo(time_zone)).date() if start is not None else day0


def _read_subjects(ctx: ExportContext) -> list[Subject]:
    sites = _sites(ctx)
    infused = first_infusions(ctx)
    found = []
    # Codes, statuses and empty texts repeat from subject to subject: kept once each, the
    # list held for the whole export stays small.
    shared: dict[Any, Any] = {}
    rows = as_of(Participant, ctx.as_of).filter(trial_id=ctx.trial.pk).order_by()
    for pk, site_id, subject_id, screening_number, *rest in stream(
        rows.values_list(*SUBJECT_COLUMNS)
    ):
        site = sites[site_id]
        identifier = subject_id or screening_number
        subject = Subject(
            pk,
            f"{ctx.trial.code}-{identifier}",
            identifier,
            site.code,
            site.country,
            site.time_zone,
            *(shared.setdefault(value, value) if type(value) is str else value for value in rest),
        )
        if pk in infused:
            start = infused[pk]
            day = _reference_day(subject.day0, site.time_zone, start)
            subject = replace(
                subject,
                reference_day=day,
                reference_start=subject.dtc(start) if start is not None else iso_date(day),
            )
        found.append(subject)
    found.sort(key=lambda subject: (subject.usubjid, subject.pk))
    return found


def subject_batches(ctx: ExportContext) -> Iterator[list[Subject]]:
    return batched(subjects(ctx), SUBJECT_BATCH)


def records(model: type[models.Model], ctx: ExportContext, *, entered: bool = True) -> Any:
    """The rows of `model` for the trial's participants as of the export instant; for case
    report forms only those entered (not those marked not done)."""
    rows = as_of(model, ctx.as_of).filter(participant_id__in=subject_ids(ctx))
    return rows.filter(entry_status=ENTERED) if entered else rows


_RECORD_TYPES: dict[Any, Any] = {}


def record_type(model: Any) -> Any:
    """A named tuple of the stored columns of `model` (a history model), by attribute name:
    what the datasets read of a record, built without a model instance per row."""
    if model not in _RECORD_TYPES:
        _RECORD_TYPES[model] = namedtuple(
            f"{model.__name__}Values", [field.attname for field in model._meta.concrete_fields]
        )
    return _RECORD_TYPES[model]


def is_not_done(row: Any) -> bool:
    """Whether a case report form row was recorded as not done (with `not_done_reason`)."""
    return bool(row.entry_status == NOT_DONE_STATUS)


def grouped(queryset: QuerySet[Any], batch: list[Subject]) -> dict[int, list[Any]]:
    """The rows of a batch of subjects, by participant, each list in record order, as
    `record_type` tuples: every stored column by its attribute name."""
    found: dict[int, list[Any]] = defaultdict(list)
    rows = queryset.filter(participant_id__in=[subject.pk for subject in batch])
    record = record_type(queryset.model)
    make = tuple.__new__
    for values in stream(rows.order_by("participant_id", "id").values_list(*record._fields)):
        row: Any = make(record, values)
        found[row.participant_id].append(row)
    return found


def visits_of(
    ctx: ExportContext, batch: list[Subject], *groups: Mapping[int, list[Any]]
) -> dict[int, VisitInfo]:
    """The visits of a batch of subjects that the records in `groups` (as `grouped` returns
    them) belong to, as of the export instant, by visit id."""
    ids = {row.visit_id for group in groups for rows in group.values() for row in rows}
    ids.discard(None)
    if not ids:
        return {}
    # Only the columns of a VisitInfo, in its order and unsorted: no model instances are built
    # and the `forms` JSON of each visit is not read.
    rows = (
        as_of(Visit, ctx.as_of)
        .filter(participant_id__in=[subject.pk for subject in batch], id__in=ids)
        .order_by()
        .values_list(*VISIT_COLUMNS)
    )
    return {pk: VisitInfo(pk, float(number), *rest) for pk, number, *rest in stream(rows)}


def visit_order(visits: Mapping[int, VisitInfo], visit_id: int | None) -> float:
    """The VISITNUM a record sorts by; records without a (known) visit come last."""
    visit = visits.get(visit_id) if visit_id is not None else None
    return visit.number if visit is not None else float("inf")


def visit_day(visits: Mapping[int, VisitInfo], visit_id: int | None) -> str:
    """The day a record's visit took place (ISO 8601), empty when it has none: the date, and
    so the epoch, of a form recorded as not done."""
    visit = visits.get(visit_id) if visit_id is not None else None
    return iso_date(visit.actual_date) if visit is not None else ""


def visit_values(visits: Mapping[int, VisitInfo], visit_id: int | None) -> dict[str, object]:
    """VISITNUM and VISIT of the visit a record belongs to."""
    visit = visits.get(visit_id) if visit_id is not None else None
    if visit is None:
        return {"VISITNUM": None, "VISIT": ""}
    return {"VISITNUM": visit.number, "VISIT": visit.name}


class Definitions:
    """The parsed protocol versions of a trial, by version id, read once per dataset."""

    def __init__(self, ctx: ExportContext) -> None:
        self._versions = {
            version.pk: version for version in ProtocolVersion.objects.filter(trial=ctx.trial)
        }
        self._fallback = ctx.protocol_version

    def of(self, version_id: int) -> ProtocolDefinition:
        return definition_of(self._versions.get(version_id, self._fallback))


def revealing_sources(ctx: ExportContext) -> frozenset[str]:
    """Every "form.field" that reveals allocation: named by its form type, or by the
    `blinding.allocation_revealing` of any protocol version the trial has loaded."""
    found = {f"{code}.{name}" for code, ftype in form_types().items() for name in ftype.revealing}
    for version in ProtocolVersion.objects.filter(trial=ctx.trial).order_by("number"):
        for code, names in definition_of(version).blinding.allocation_revealing.items():
            found.update(f"{code}.{name}" for name in names)
    return frozenset(found)


def is_revealing(variable: Variable, sources: frozenset[str]) -> bool:
    """Whether a blinded export leaves `variable` out, given the `revealing_sources`."""
    if variable.masked:
        return False
    return variable.revealing or any(source in sources for source in variable.source)

"""What an ODM export describes: its events, forms and items, with blinded items left out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.utils import translation

from assessments.forms_kit import FormType
from casebook.catalogue import form_types
from exports.base import ExportContext
from exports.odm.items import CodeList, Item, Unit, field_item, oid_part
from trials.definitions import definition_of
from trials.models import Consent, EligibilityAnswer, Participant, ProtocolVersion
from trials.protocol import ProtocolDefinition
from visits.models import Visit

UNSCHEDULED_EVENT = "SE.UNSCHEDULED"
SUBJECT_EVENT = "SE.SUBJECT"


@dataclass(frozen=True)
class Form:
    """A form type and the history table its data points are read from."""

    code: str
    label: str
    # Its place among the forms of an event; also orders the data within an event.
    rank: int
    # Placed in the participant's common event rather than at a visit.
    common: bool
    # Several records per event, told apart by FormRepeatKey (the record's id).
    repeating: bool
    items: tuple[Item, ...]
    history: Any
    # The history column naming the participant ("id" for the participant's own history)
    # and the visit ("id" for the visit's own history; "" for forms in the common event).
    participant_column: str = "participant_id"
    visit_column: str = "visit_id"
    # Rows fill the items of their pivot value (one row per eligibility criterion).
    pivot_column: str = ""
    # Whether the form was entered or recorded as not done; a form not done has no values,
    # whatever defaults its row holds.
    status_column: str = ""

    @property
    def oid(self) -> str:
        return f"F.{oid_part(self.code)}"

    @property
    def group_oid(self) -> str:
        return f"IG.{oid_part(self.code)}"


@dataclass(frozen=True)
class Event:
    oid: str
    name: str
    type: str  # Scheduled | Unscheduled | Common
    repeating: bool
    category: str
    mandatory: bool
    # (form OID, mandatory), in form order.
    forms: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class Catalogue:
    study_oid: str
    mdv_oid: str
    mdv_name: str
    study_name: str
    study_description: str
    protocol_name: str
    effective_date: str
    events: tuple[Event, ...]
    forms: tuple[Form, ...]
    scheduled_visits: frozenset[str]

    @property
    def codelists(self) -> tuple[CodeList, ...]:
        found: dict[str, CodeList] = {}
        for form in self.forms:
            for item in form.items:
                if item.codelist is not None:
                    found.setdefault(item.codelist.oid, item.codelist)
        return tuple(found.values())

    @property
    def units(self) -> tuple[Unit, ...]:
        found: dict[str, Unit] = {}
        for form in self.forms:
            for item in form.items:
                if item.unit is not None:
                    found.setdefault(item.unit.oid, item.unit)
        return tuple(sorted(found.values(), key=lambda unit: unit.oid))


def trial_definitions(ctx: ExportContext) -> list[ProtocolDefinition]:
    """The export's protocol version first, then every other version loaded by `as_of`, so
    data collected under any of them has its visits and criteria described."""
    others = ProtocolVersion.objects.filter(
        trial_id=ctx.trial.pk, loaded_at__lte=ctx.as_of
    ).exclude(pk=ctx.protocol_version.pk)
    return [definition_of(ctx.protocol_version)] + [
        definition_of(version) for version in others.order_by("number")
    ]


def all_definitions(ctx: ExportContext) -> list[ProtocolDefinition]:
    """Every protocol version of the trial, whenever loaded: a field an amendment declares
    allocation-revealing is hidden from blinded exports of any date."""
    versions = ProtocolVersion.objects.filter(trial_id=ctx.trial.pk).order_by("number")
    return [definition_of(version) for version in versions]


def hidden_fields(
    form_code: str, revealing: tuple[str, ...], defs: list[ProtocolDefinition]
) -> set[str]:
    """Allocation-revealing fields of a form by its code and by any of the protocol versions."""
    hidden = set(revealing)
    for definition in defs:
        hidden |= set(definition.blinding.allocation_revealing.get(form_code, ()))
    return hidden


def _registry_form(ftype: FormType, rank: int, hidden: set[str]) -> Form:
    items = [
        field_item(
            ftype.code,
            ftype.model,
            name,
            mandatory=name in ftype.required,
            origin="Derived" if name in ftype.derived else "CRF",
        )
        for name in (*ftype.fields, *ftype.derived)
        if name not in hidden
    ]
    if ftype.scope == "visit":
        # Only a once-per-visit form can be recorded as not done.
        items += [
            field_item(ftype.code, ftype.model, "entry_status", label="Form status"),
            field_item(ftype.code, ftype.model, "not_done_reason", label="Why not done"),
        ]
    return Form(
        code=ftype.code,
        label=ftype.label,
        rank=rank,
        common=ftype.scope in ("log", "participant"),
        repeating=ftype.scope in ("log", "repeating"),
        items=tuple(items),
        history=ftype.model.history.model,
        visit_column="" if ftype.scope in ("log", "participant") else "visit_id",
        status_column="entry_status" if ftype.scope == "visit" else "",
    )


def _visit_form() -> Form:
    items = (
        field_item("visit", Visit, "status", label="Visit status", origin="Derived"),
        field_item("visit", Visit, "actual_date", label="Visit date"),
        field_item("visit", Visit, "out_of_window", label="Outside its window", origin="Derived"),
        field_item("visit", Visit, "reason", label="Why unscheduled or not done"),
    )
    return Form("visit", "Visit", 0, False, False, items, Visit.history.model, visit_column="id")


def _subject_form(defs: list[ProtocolDefinition], blinded: bool, hidden: set[str]) -> Form:
    def item(name: str, label: str, origin: str = "CRF") -> Item:
        return field_item("subject", Participant, name, label=label, origin=origin)

    cohorts = {
        cohort.code: cohort.name
        for definition in defs
        for stage in definition.stages
        for cohort in stage.cohorts
    }
    items = [
        item("screening_number", "Screening number", "Assigned"),
        item("subject_id", "Subject identifier", "Assigned"),
        item("sex", "Sex"),
        item("date_of_birth", "Date of birth"),
        item("status", "Participant status", "Derived"),
        item("registered_at", "Registered at", "Derived"),
        item("screen_failure_reason", "Why screen failed"),
        item("eligibility_confirmed_at", "Eligibility confirmed at", "Derived"),
        item("stage_code", "Trial stage", "Assigned"),
        item("randomization_number", "Randomization number", "Assigned"),
        item("randomized_at", "Randomized or enrolled at", "Derived"),
        Item(
            oid="IT.SUBJECT.COHORT",
            name="cohort",
            column="cohort_id",
            label="Dose-escalation cohort",
            kind="text",
            data_type="text",
            length=20,
            codelist=CodeList("CL.SUBJECT.COHORT", "subject.cohort", "text", tuple(cohorts.items()))
            if cohorts
            else None,
            origin="Assigned",
            lookup="cohort",
        ),
        item("day0", "Day 0 (first infusion)"),
        item("ended_at", "Participation ended at", "Derived"),
        item("end_reason", "Why participation ended"),
    ]
    if not blinded:
        arms = {arm.code: arm.name for definition in defs for arm in definition.arms}
        items.append(
            Item(
                oid="IT.SUBJECT.ARM",
                name="arm",
                column="randomization_number",
                label="Randomized arm",
                kind="text",
                data_type="text",
                length=20,
                codelist=CodeList("CL.SUBJECT.ARM", "subject.arm", "text", tuple(arms.items()))
                if arms
                else None,
                origin="Assigned",
                lookup="arm",
            )
        )
    return Form(
        "subject",
        "Participant",
        1,
        True,
        False,
        tuple(entry for entry in items if entry.name not in hidden),
        Participant.history.model,
        participant_column="id",
        visit_column="",
    )


def _consent_form() -> Form:
    items = (
        field_item("consent", Consent, "form_version", label="Consent form version"),
        field_item("consent", Consent, "consent_date", label="Consent date"),
    )
    return Form(
        "consent", "Informed consent", 2, True, True, items, Consent.history.model, visit_column=""
    )


def _eligibility_form(defs: list[ProtocolDefinition]) -> Form:
    criteria: dict[str, str] = {}
    for definition in defs:
        for kind, listed in (
            ("inclusion met", definition.eligibility.inclusion),
            ("exclusion applies", definition.eligibility.exclusion),
        ):
            for criterion in listed:
                criteria.setdefault(criterion.code, f"{criterion.code} ({kind}): {criterion.text}")
    items: list[Item] = []
    for code, text in criteria.items():
        answer = field_item("eligibility", EligibilityAnswer, "answer", label=text)
        comment = field_item("eligibility", EligibilityAnswer, "comment", label=f"{code}: comment")
        items.append(_pivoted(answer, code, f"IT.ELIGIBILITY.{oid_part(code)}", code))
        items.append(
            _pivoted(comment, code, f"IT.ELIGIBILITY.{oid_part(code)}.COMMENT", f"{code}_comment")
        )
    return Form(
        "eligibility",
        "Eligibility",
        3,
        True,
        False,
        tuple(items),
        EligibilityAnswer.history.model,
        visit_column="",
        pivot_column="criterion_code",
    )


def _pivoted(item: Item, pivot: str, oid: str, name: str) -> Item:
    return replace(item, oid=oid, name=name, pivot=pivot)


def _events(defs: list[ProtocolDefinition], forms: list[Form]) -> tuple[Event, ...]:
    at_visit = [form for form in forms if not form.common]
    events: list[Event] = []
    seen: set[str] = set()
    for definition in defs:
        for visit in definition.visits:
            if visit.code in seen:
                continue
            seen.add(visit.code)
            listed = [
                (form.oid, True)
                for form in at_visit
                if form.code == "visit" or form.code in visit.forms
            ]
            events.append(
                Event(
                    f"SE.{visit.code}",
                    visit.name,
                    "Scheduled",
                    False,
                    visit.kind,
                    not visit.optional,
                    tuple(listed),
                )
            )
    events.append(
        Event(
            UNSCHEDULED_EVENT,
            "Unscheduled visit",
            "Unscheduled",
            True,
            "unscheduled",
            False,
            tuple((form.oid, form.code == "visit") for form in at_visit),
        )
    )
    events.append(
        Event(
            SUBJECT_EVENT,
            "Participant",
            "Common",
            False,
            "participant",
            True,
            tuple((form.oid, form.code == "subject") for form in forms if form.common),
        )
    )
    return tuple(events)


def build_catalogue(ctx: ExportContext) -> Catalogue:
    """The events, forms and items of the export's metadata, in document order; a blinded
    export holds no allocation-revealing item (nor its code list or unit)."""
    defs = trial_definitions(ctx)
    blinding = all_definitions(ctx) if ctx.blinded else []
    with translation.override("en"):
        forms = [_visit_form()]
        hidden = hidden_fields("subject", (), blinding) if ctx.blinded else set()
        forms.append(_subject_form(defs, ctx.blinded, hidden))
        forms.append(_consent_form())
        forms.append(_eligibility_form(defs))
        for rank, ftype in enumerate(form_types().values(), start=10):
            hidden = hidden_fields(ftype.code, ftype.revealing, blinding) if ctx.blinded else set()
            forms.append(_registry_form(ftype, rank, hidden))
    # A form with nothing left to describe (no criteria, every field blinded) is left out.
    forms = sorted((form for form in forms if form.items), key=lambda form: form.rank)
    definition = defs[0]
    version = ctx.protocol_version
    return Catalogue(
        study_oid=f"ST.{ctx.trial.code}",
        mdv_oid=f"MDV.{version.number}",
        mdv_name=f"{definition.code} protocol version {definition.version}",
        study_name=definition.short_title or definition.code,
        study_description=definition.title,
        protocol_name=definition.identifiers.sponsor_code or definition.identifiers.nct,
        effective_date=version.loaded_at.date().isoformat(),
        events=_events(defs, forms),
        forms=tuple(forms),
        scheduled_visits=frozenset(
            visit.code for definition in defs for visit in definition.visits
        ),
    )

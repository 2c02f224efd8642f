"""A small MSV_LE trial entered through the services at known instants, for the ODM tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import odmlib
import time_machine
from lxml import etree

from assessments.services import form_not_done, form_save
from casebook.catalogue import form_type
from exports.base import ExportContext
from tests.personas import NOW, PROTOCOLS, Team, load, make_team
from tests.world import make_eligible, on_study, register
from trials.definitions import current_version
from trials.models import Participant
from visits.services import visit_add_unscheduled

UTC = dt.UTC
PROTOCOLS_DIR = PROTOCOLS
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
SCHEMA_PATH = Path(odmlib.__file__).resolve().parent / "schemas/odm/1.3.2/ODM1-3-2.xsd"

SLEDAI_ENTERED = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
D0_ENTERED = dt.datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
PHARMACY_ENTERED = dt.datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
LOGS_ENTERED = dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
# Between the first entries and the corrections.
BEFORE_EDITS = dt.datetime(2026, 3, 8, 0, 0, tzinfo=UTC)
EDITED = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
AFTER_ALL = dt.datetime(2026, 3, 20, 0, 0, tzinfo=UTC)

RASH_REASON = 'Rash resolved before the 10-day window <checked> & "confirmed"'
INDICATION_REASON = "Indication not known after all"
AE_TERM = 'Headache <"severe"> & nausea\x0bmild'
KIT = "K-0042"
LOT = "LOT-7"


@dataclass
class Story:
    team: Team
    subject: Participant
    other: Participant
    pharmacist: Any

    def context(self, as_of: dt.datetime, *, blinded: bool = True) -> ExportContext:
        return ExportContext(
            trial=self.team.trial,
            protocol_version=current_version(self.team.trial.pk),
            as_of=as_of,
            blinded=blinded,
        )


def _save(team: Team, actor: Any, code: str, subject: Participant, **kwargs: Any) -> Any:
    return form_save(actor=actor, ftype=form_type(code), participant=subject, **kwargs)


def build_story() -> Story:
    """Two randomized participants at two sites, forms entered, corrected and cleared, with
    the clock frozen at each step so the history dates are known."""
    with time_machine.travel(NOW, tick=False):
        team = make_team(load("nct03673748.yaml"))
        subject = on_study(team)
        # The other site is not a randomization stratum: its participant stays in screening.
        other = make_eligible(team, register(team, site=team.other_site))
    visits = {visit.code: visit for visit in subject.visits.all()}
    with time_machine.travel(SLEDAI_ENTERED, tick=False):
        sledai = _save(
            team,
            team.investigator,
            "sledai2k",
            subject,
            visit=visits["SEL"],
            data={
                "assessment_date": dt.date(2026, 3, 2),
                "window_days": 10,
                "prot": True,
                "rash": True,
            },
            now=SLEDAI_ENTERED,
        )
        _save(
            team,
            team.investigator,
            "renal",
            subject,
            visit=visits["SEL"],
            data={
                "assessment_date": dt.date(2026, 3, 2),
                "specimen_type": "24h_urine",
                "upcr_value": Decimal("250"),
                "upcr_unit": "mg/mmol",
                "serum_creatinine_value": Decimal("1.10"),
                "creatinine_unit": "mg/dL",
            },
            now=SLEDAI_ENTERED,
        )
        _save(
            team,
            team.other_coordinator,
            "vitals",
            other,
            visit=other.visits.get(code="SEL"),
            data={
                "timepoint": "visit",
                "measured_at": dt.datetime(2026, 3, 2, 11, 0, tzinfo=UTC),
                "heart_rate": 64,
            },
            now=SLEDAI_ENTERED,
        )
    with time_machine.travel(D0_ENTERED, tick=False):
        _save(
            team,
            team.coordinator,
            "pregnancy",
            subject,
            visit=visits["D0"],
            data={
                "applicable": True,
                "test_date": dt.date(2026, 3, 4),
                "test_type": "urine",
                "result": "negative",
            },
            now=D0_ENTERED,
        )
        for timepoint, measured in (("pre_dose", 8), ("15min", 9)):
            _save(
                team,
                team.coordinator,
                "vitals",
                subject,
                visit=visits["D0"],
                data={
                    "timepoint": timepoint,
                    "measured_at": dt.datetime(2026, 3, 4, measured, 15, tzinfo=UTC),
                    "systolic": 118,
                    "diastolic": 76,
                    "temperature_c": Decimal("36.6"),
                },
                now=D0_ENTERED,
            )
        infusion = _save(
            team,
            team.coordinator,
            "infusion",
            subject,
            visit=visits["D0"],
            data={
                "weight_kg": Decimal(65),
                "weight_date": dt.date(2026, 3, 4),
                "given": True,
                "volume_ml": Decimal(100),
                "start_time": dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
                "stop_time": dt.datetime(2026, 3, 4, 9, 45, tzinfo=UTC),
            },
            now=D0_ENTERED,
        )
    pharmacist = team.pharmacist
    with time_machine.travel(PHARMACY_ENTERED, tick=False):
        _save(
            team,
            pharmacist,
            "infusion",
            subject,
            visit=visits["D0"],
            data={"kit_number": KIT, "product_lot": LOT, "viability_pct": Decimal("92.5")},
            expected_version=infusion.row_version,
            reason="Product record",
            now=PHARMACY_ENTERED,
        )
    with time_machine.travel(LOGS_ENTERED, tick=False):
        _save(
            team,
            team.coordinator,
            "adverse_events",
            subject,
            data={"verbatim_term": AE_TERM, "onset_date": "2026-03-04", "ctcae_grade": 1},
            now=LOGS_ENTERED,
        )
        conmed = _save(
            team,
            team.coordinator,
            "conmed",
            subject,
            data={
                "medication": "Hydroxychloroquine",
                "category": "antimalarial",
                "indication": "Lupus nephritis",
                "start_date": "2025-06",
                "ongoing": True,
            },
            now=LOGS_ENTERED,
        )
    with time_machine.travel(EDITED, tick=False):
        _save(
            team,
            team.investigator,
            "sledai2k",
            subject,
            visit=visits["SEL"],
            data={"rash": False},
            expected_version=sledai.row_version,
            reason=RASH_REASON,
            now=EDITED,
        )
        _save(
            team,
            team.coordinator,
            "conmed",
            subject,
            record_id=conmed.pk,
            data={"indication": ""},
            expected_version=conmed.row_version,
            reason=INDICATION_REASON,
            now=EDITED,
        )
        form_not_done(
            actor=team.coordinator,
            ftype=form_type("labs"),
            participant=subject,
            visit=visits["W1"],
            reason="Sample haemolysed",
            now=EDITED,
        )
        # Its SLEDAI-2K items are stored as "no" by default, but none was assessed.
        form_not_done(
            actor=team.coordinator,
            ftype=form_type("sledai2k"),
            participant=subject,
            visit=visits["W4"],
            reason="Investigator absent",
            now=EDITED,
        )
        unscheduled = visit_add_unscheduled(
            actor=team.coordinator,
            parent=visits["D0"],
            actual_date=dt.date(2026, 3, 8),
            reason="Fever",
            forms=["vitals"],
            now=EDITED,
        )
        _save(
            team,
            team.coordinator,
            "vitals",
            subject,
            visit=unscheduled,
            data={
                "timepoint": "visit",
                "measured_at": dt.datetime(2026, 3, 8, 10, 0, tzinfo=UTC),
                "temperature_c": Decimal("38.4"),
            },
            now=EDITED,
        )
    return Story(team=team, subject=subject, other=other, pharmacist=pharmacist)


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def item_data(root: Any, item_oid: str) -> list[Any]:
    return root.findall(f".//odm:ItemData[@ItemOID='{item_oid}']", NS)


def audit(element: Any) -> dict[str, str | None]:
    record = element.find("odm:AuditRecord", NS)
    reason = record.find("odm:ReasonForChange", NS)
    return {
        "user": record.find("odm:UserRef", NS).get("UserOID"),
        "location": record.find("odm:LocationRef", NS).get("LocationOID"),
        "when": record.find("odm:DateTimeStamp", NS).text,
        "reason": reason.text if reason is not None else None,
    }


def parse(path: Path) -> Any:
    return etree.parse(str(path)).getroot()


def dangling_references(root: Any) -> list[str]:
    """Every reference of the file that does not resolve to what it names (the schema cannot
    check these): OIDs to their definitions, values to their code lists, repeat keys to
    repeating definitions."""
    problems: list[str] = []

    def defs(tag: str) -> dict[str, Any]:
        return {el.get("OID"): el for el in root.iterfind(f".//odm:{tag}", NS)}

    events, forms, groups = defs("StudyEventDef"), defs("FormDef"), defs("ItemGroupDef")
    items, codelists, units = defs("ItemDef"), defs("CodeList"), defs("MeasurementUnit")
    users, locations = defs("User"), defs("Location")

    def refs(parent: Any, tag: str, attr: str) -> set[str]:
        return {el.get(attr) for el in parent.iterfind(f"odm:{tag}", NS)}

    protocol = root.find(".//odm:Protocol", NS)
    problems += [
        f"event {oid}"
        for oid in refs(protocol, "StudyEventRef", "StudyEventOID")
        if oid not in events
    ]
    for event in events.values():
        problems += [f"form {oid}" for oid in refs(event, "FormRef", "FormOID") if oid not in forms]
    for form in forms.values():
        problems += [
            f"group {g}" for g in refs(form, "ItemGroupRef", "ItemGroupOID") if g not in groups
        ]
    for group in groups.values():
        problems += [f"item {oid}" for oid in refs(group, "ItemRef", "ItemOID") if oid not in items]
    for item in items.values():
        problems += [
            f"codelist {c}" for c in refs(item, "CodeListRef", "CodeListOID") if c not in codelists
        ]
        problems += [
            f"unit {u}"
            for u in refs(item, "MeasurementUnitRef", "MeasurementUnitOID")
            if u not in units
        ]
    for location in locations.values():
        if location.find("odm:MetaDataVersionRef", NS) is None:
            problems.append(f"location {location.get('OID')} without MetaDataVersionRef")
    for subject in root.iterfind(".//odm:SubjectData", NS):
        site = subject.find("odm:SiteRef", NS)
        if site is None or site.get("LocationOID") not in locations:
            problems.append(f"site of {subject.get('SubjectKey')}")
        for event_data in subject.iterfind("odm:StudyEventData", NS):
            event = events.get(event_data.get("StudyEventOID"))
            if event is None:
                problems.append(f"event data {event_data.get('StudyEventOID')}")
                continue
            if (event.get("Repeating") == "Yes") != ("StudyEventRepeatKey" in event_data.attrib):
                problems.append(f"repeat key of {event.get('OID')}")
            for form_data in event_data.iterfind("odm:FormData", NS):
                form_oid = form_data.get("FormOID")
                if form_oid not in refs(event, "FormRef", "FormOID"):
                    problems.append(f"{form_oid} not in {event.get('OID')}")
                    continue
                if (forms[form_oid].get("Repeating") == "Yes") != (
                    "FormRepeatKey" in form_data.attrib
                ):
                    problems.append(f"repeat key of {form_oid}")
                for group_data in form_data.iterfind("odm:ItemGroupData", NS):
                    group_oid = group_data.get("ItemGroupOID")
                    if group_oid not in refs(forms[form_oid], "ItemGroupRef", "ItemGroupOID"):
                        problems.append(f"{group_oid} not in {form_oid}")
                        continue
                    listed = refs(groups[group_oid], "ItemRef", "ItemOID")
                    for data in group_data.iterfind("odm:ItemData", NS):
                        problems += _item_data_problems(
                            data, listed, items, codelists, users, locations
                        )
    return problems


def _item_data_problems(
    data: Any,
    listed: set[str],
    items: dict[str, Any],
    codelists: dict[str, Any],
    users: dict[str, Any],
    locations: dict[str, Any],
) -> list[str]:
    oid = data.get("ItemOID")
    if oid not in listed:
        return [f"{oid} not in its group"]
    problems = []
    if ("Value" in data.attrib) == (data.get("IsNull") == "Yes"):
        problems.append(f"{oid}: neither or both of Value and IsNull")
    codelist_ref = items[oid].find("odm:CodeListRef", NS)
    if codelist_ref is not None and "Value" in data.attrib:
        codes = {
            el.get("CodedValue")
            for el in codelists[codelist_ref.get("CodeListOID")].iterfind("odm:CodeListItem", NS)
        }
        if data.get("Value") not in codes:
            problems.append(f"{oid}: {data.get('Value')!r} not in its code list")
    record = data.find("odm:AuditRecord", NS)
    if record is None:
        return [*problems, f"{oid} without an audit record"]
    if record.find("odm:UserRef", NS).get("UserOID") not in users:
        problems.append(f"{oid}: user")
    if record.find("odm:LocationRef", NS).get("LocationOID") not in locations:
        problems.append(f"{oid}: location")
    return problems

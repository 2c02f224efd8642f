"""A small MSV_LE trial entered through the services at known instants, for the dataset tests.

Timeline (UTC; the site is in Europe/Madrid):
- SETUP, 2026-03-02: protocol loaded, allocation list imported (R001 MSC, R002 placebo),
  P1 and P2 consented and randomized with Day 0 = 2026-03-04, P3 screen-failed (IN02).
- 2026-03-03: selection data of P1 and P2 (labs of P1 dated the day before Day 0; medical
  history and a serum pregnancy test of P1; P2's medical history and labs not done, and
  childbearing potential not applicable).
- 2026-03-04: the Day-0 infusions, P1's vital signs around it and pre-dose labs.
- 2026-03-06: an unscheduled visit of P1 after Day 0 (VISITNUM 3.01) and adverse events.
- 2026-04-01: week 4 of P1 (visit, labs, SLEDAI-2K, renal response, pregnancy test not done)
  and a deviation.
- AS_OF, 2026-04-02 12:00: the snapshot the as-of tests ask for.
- 2026-04-10: after AS_OF, P1's fever renamed and week-4 haemoglobin corrected; P4 registered.
- 2026-08-19: week 24 of P1 (protocol Day 168): visit, SLEDAI-2K and renal assessment.
- LATEST, 2026-09-01: a snapshot that sees everything.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import time_machine

from assessments.services import form_not_done, form_save
from assessments.services.visits import visit_record
from casebook.catalogue import form_type
from ecrf.errors import DomainError
from exports.base import ExportContext, WrittenFile
from exports.datasets import exported_datasets
from exports.tabular import write_tabular
from tests.personas import NOW, Team, load, make_team
from tests.world import reconfirm_for_randomization, register
from trials.models import Participant
from trials.services import (
    allocation_import,
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    participant_randomize,
    participant_screen_fail,
)
from trials.services.participants import eligibility_outcome
from visits.services import participant_register, participant_set_day0, visit_add_unscheduled

SETUP = NOW
DAY0 = date(2026, 3, 4)
AS_OF = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 4, 10, 10, 0, tzinfo=UTC)
WEEK24 = datetime(2026, 8, 19, 10, 0, tzinfo=UTC)
LATEST = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)

# Values that would reveal the arm: none may appear in a blinded export.
KITS = ("KIT-7731", "KIT-7732")
LOTS = ("LOT-MSV-2291", "LOT-PLC-0042")
CELLS_MSC = Decimal("128.37")
VIABILITY_MSC = Decimal("93.7")
ALLOCATION_CSV = "\n".join(
    (
        "stratum,sequence,block_number,block_size,arm,randomization_number",
        "site=VA01,1,1,2,MSC,R001",
        "site=VA01,2,1,2,PLACEBO,R002",
        "site=VA01,3,2,2,PLACEBO,R003",
        "site=VA01,4,2,2,MSC,R004",
    )
)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """The clock (and so every history record's date) stands still at `moment`."""
    with time_machine.travel(moment, tick=False):
        yield


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Trial:
    team: Team
    p1: Participant
    p2: Participant
    p3: Participant
    p4: Participant

    @property
    def code(self) -> str:
        return self.team.trial.code

    def ctx(self, as_of: datetime = LATEST, *, blinded: bool = True) -> ExportContext:
        trial = self.team.trial
        return ExportContext(
            trial=trial,
            protocol_version=trial.protocol_versions.order_by("-number").first(),
            as_of=as_of,
            blinded=blinded,
        )

    def usubjid(self, participant: Participant) -> str:
        participant.refresh_from_db()
        return f"{self.code}-{participant.identifier}"


def save(
    team: Team,
    form: str,
    participant: Participant,
    data: dict[str, Any],
    *,
    visit: str | None = None,
    actor: Any = None,
    now: datetime,
    **kwargs: Any,
) -> Any:
    with at(now):
        try:
            return form_save(
                actor=actor or team.coordinator,
                ftype=form_type(form),
                participant=participant,
                visit=participant.visits.get(code=visit) if visit else None,
                data=data,
                now=now,
                **kwargs,
            )
        except DomainError as error:
            raise AssertionError(f"{form} of {participant}: {error.fields}") from error


def not_done(
    team: Team, form: str, participant: Participant, visit: str, reason: str, *, now: datetime
) -> Any:
    with at(now):
        return form_not_done(
            actor=team.coordinator,
            ftype=form_type(form),
            participant=participant,
            visit=participant.visits.get(code=visit),
            reason=reason,
            now=now,
        )


def _consented(team: Team, participant: Participant, *, fail: str = "") -> Participant:
    consent_record(
        actor=team.coordinator,
        participant=participant,
        form_version="1.0",
        consent_date=SETUP.date(),
        now=SETUP,
    )
    for code in eligibility_outcome(participant)["unanswered"]:
        met = code.startswith("IN") != (code == fail)
        eligibility_answer(
            actor=team.coordinator,
            participant=participant,
            criterion_code=code,
            answer=met,
            now=SETUP,
        )
    if fail:
        return participant_screen_fail(
            actor=team.coordinator, participant=participant, reason=f"{fail} not met", now=SETUP
        )
    return eligibility_confirm(actor=team.investigator, participant=participant, now=SETUP)


def _randomized(team: Team, born: date, sex: str) -> Participant:
    participant = _consented(team, register(team, born=born, sex=sex))
    reconfirm_for_randomization(team, participant, now=SETUP)
    participant = participant_randomize(actor=team.coordinator, participant=participant, now=SETUP)
    return participant_set_day0(
        actor=team.coordinator, participant=participant, day0=DAY0, now=SETUP
    )


def _selection(team: Team, p1: Participant, p2: Participant) -> None:
    now = _utc(2026, 3, 3, 10)
    with at(now):
        for participant in (p1, p2):
            visit_record(
                actor=team.coordinator,
                visit=participant.visits.get(code="SEL"),
                actual_date=date(2026, 3, 2),
                now=now,
            )
    save(team, "medical_history", p1, {
        "sle_diagnosis_date": "2019-05", "classification": "slicc2012",
        "ln_biopsy_date": date(2026, 1, 20), "isn_rps_class": "IV", "relapse": False,
    }, visit="SEL", now=now)  # fmt: skip
    save(team, "pregnancy", p1, {
        "applicable": True, "test_date": date(2026, 3, 2), "test_type": "serum",
        "result": "negative",
    }, visit="SEL", now=now)  # fmt: skip
    save(team, "pregnancy", p2, {"applicable": False}, visit="SEL", now=now)
    not_done(team, "medical_history", p2, "SEL", "Referral letter not yet received", now=now)
    not_done(team, "labs", p2, "SEL", "Sample haemolysed", now=now)
    save(team, "labs", p1, {
        "sample_date": date(2026, 3, 3),
        "haemoglobin_value": Decimal("12.5"), "haemoglobin_unit": "g/dL",
        "haemoglobin_lln": Decimal("12.0"), "haemoglobin_uln": Decimal("16.0"),
        "wbc_value": Decimal("6.2"), "wbc_unit": "10^9/L",
        "c3_value": Decimal("62"), "c3_unit": "mg/dL",
        "c3_lln": Decimal("90"), "c3_uln": Decimal("180"),
        "anti_dsdna_value": Decimal("85"), "anti_dsdna_unit": "IU/mL",
        "anti_dsdna_uln": Decimal("10"),
    }, visit="SEL", now=now)  # fmt: skip
    for participant, upcr, creatinine in ((p1, "3.2", "0.8"), (p2, "4.0", "1.0")):
        save(team, "renal", participant, {
            "assessment_date": date(2026, 3, 2), "specimen_type": "24h_urine",
            "upcr_value": Decimal(upcr), "upcr_unit": "g/g",
            "serum_creatinine_value": Decimal(creatinine), "creatinine_unit": "mg/dL",
            "urine_rbc_hpf": Decimal("12"), "urine_wbc_hpf": Decimal("3"),
            "rbc_casts": True, "cellular_casts": True,
        }, visit="SEL", now=now)  # fmt: skip
        save(team, "sledai2k", participant, {
            "assessment_date": date(2026, 3, 2), "window_days": 10,
            "prot": True, "hemat": True, "hemat_sle": True, "casts": True,
            "lowcomp": True, "dna": True,
        }, visit="SEL", actor=team.investigator, now=now)  # fmt: skip
    save(team, "vitals", p1, {
        "timepoint": "visit", "measured_at": _utc(2026, 3, 3, 8, 30),
        "systolic": 128, "diastolic": 82, "heart_rate": 74,
        "temperature_c": Decimal("36.6"), "weight_kg": Decimal("64.5"),
    }, visit="SEL", now=now)  # fmt: skip
    save(team, "conmed", p1, {
        "medication": "Prednisone", "category": "glucocorticoid",
        "dose": Decimal("20"), "dose_unit": "mg", "route": "oral", "frequency": "daily",
        "indication": "Lupus nephritis", "start_date": "2026-01", "ongoing": True,
    }, now=now)  # fmt: skip


def _day0(team: Team, p1: Participant, p2: Participant) -> None:
    now = _utc(2026, 3, 4, 12)
    for participant, weight, kit, lot, cells, viability in (
        (p1, "65.0", KITS[0], LOTS[0], CELLS_MSC, VIABILITY_MSC),
        (p2, "80.2", KITS[1], LOTS[1], Decimal("0"), None),
    ):
        save(team, "pregnancy", participant, {
            "applicable": True, "test_date": DAY0, "test_type": "urine", "result": "negative",
        }, visit="D0", now=now)  # fmt: skip
        infusion = save(team, "infusion", participant, {
            "weight_kg": Decimal(weight), "weight_date": DAY0, "given": True,
            "volume_ml": Decimal("100"), "start_time": _utc(2026, 3, 4, 9),
            "stop_time": _utc(2026, 3, 4, 9, 45), "interrupted": False,
        }, visit="D0", now=now)  # fmt: skip
        save(team, "infusion", participant, {
            "kit_number": kit, "product_lot": lot, "cell_count_1e6": cells,
            "viability_pct": viability, "release_checks_passed": True,
        }, visit="D0", actor=team.pharmacist, now=now, reason="Product record",
            expected_version=infusion.row_version)  # fmt: skip
    for timepoint, minute in (("pre_dose", 40), ("15min", 75), ("2h", 180)):
        save(team, "vitals", p1, {
            "timepoint": timepoint, "measured_at": _utc(2026, 3, 4, 8) + timedelta(minutes=minute),
            "systolic": 120, "diastolic": 78, "heart_rate": 70 + minute // 60,
            "temperature_c": Decimal("36.8"),
        }, visit="D0", now=now)  # fmt: skip
    save(team, "labs", p1, {
        "sample_date": DAY0, "haemoglobin_value": Decimal("12.2"), "haemoglobin_unit": "g/dL",
    }, visit="D0", now=now)  # fmt: skip


def _after_day0(team: Team, p1: Participant, p2: Participant) -> None:
    now = _utc(2026, 3, 6, 10)
    with at(now):
        unscheduled = visit_add_unscheduled(
            actor=team.coordinator,
            parent=p1.visits.get(code="D0"),
            actual_date=date(2026, 3, 6),
            reason="Fever after the infusion",
            forms=["labs"],
            now=now,
        )
        form_save(
            actor=team.coordinator,
            ftype=form_type("labs"),
            participant=p1,
            visit=unscheduled,
            data={
                "sample_date": date(2026, 3, 6),
                "wbc_value": Decimal("11.4"),
                "wbc_unit": "10^9/L",
            },
            now=now,
        )
    save(team, "adverse_events", p1, {
        "verbatim_term": "Fever", "onset_date": "2026-03", "end_date": "2026-03-05",
        "ctcae_grade": 1, "investigator_causality": "possible", "outcome": "recovered",
        "action_taken": "not_applicable",
    }, now=now)  # fmt: skip
    save(team, "adverse_events", p2, {
        "verbatim_term": "Headache", "onset_date": "2026-03-05", "ongoing": True,
        "ctcae_grade": 2, "investigator_causality": "unlikely", "outcome": "recovering",
    }, now=now)  # fmt: skip


def _week4(team: Team, p1: Participant) -> None:
    now = _utc(2026, 4, 1, 10)
    with at(now):
        visit_record(
            actor=team.coordinator, visit=p1.visits.get(code="W4"), actual_date=now.date(), now=now
        )
    save(team, "labs", p1, {
        "sample_date": now.date(), "haemoglobin_value": Decimal("12.9"), "haemoglobin_unit": "g/dL",
    }, visit="W4", now=now)  # fmt: skip
    save(team, "renal", p1, {
        "assessment_date": now.date(), "specimen_type": "spot_urine",
        "upcr_value": Decimal("135.7"), "upcr_unit": "mg/mmol",
        "serum_creatinine_value": Decimal("70.7"), "creatinine_unit": "umol/L",
    }, visit="W4", now=now)  # fmt: skip
    save(team, "sledai2k", p1, {
        "assessment_date": now.date(), "window_days": 10, "prot": True, "rash": True,
    }, visit="W4", actor=team.investigator, now=now)  # fmt: skip
    not_done(team, "pregnancy", p1, "W4", "Participant declined the test", now=now)
    save(team, "deviation", p1, {
        "occurred_on": DAY0, "category": "procedure", "severity": "minor",
        "description": "Pre-dose vital signs taken 20 minutes late", "state": "confirmed",
    }, now=now)  # fmt: skip


def _after_as_of(team: Team, p1: Participant) -> Participant:
    from assessments.models import LabResults
    from safety.models import AdverseEvent

    fever = AdverseEvent.objects.get(participant=p1, verbatim_term="Fever")
    save(team, "adverse_events", p1, {"verbatim_term": "Pyrexia"}, record_id=fever.pk,
         expected_version=fever.row_version, reason="Term corrected", now=AFTER)  # fmt: skip
    labs = LabResults.objects.get(participant=p1, visit__code="W4")
    save(team, "labs", p1, {"haemoglobin_value": Decimal("13.1")}, visit="W4",
         expected_version=labs.row_version, reason="Transcription error", now=AFTER)  # fmt: skip
    with at(AFTER):
        late = participant_register(
            actor=team.coordinator,
            site=team.site,
            sex="M",
            date_of_birth=date(1979, 1, 30),
            now=AFTER,
        )
    with at(WEEK24):
        visit_record(
            actor=team.coordinator,
            visit=p1.visits.get(code="W24"),
            actual_date=WEEK24.date(),
            now=WEEK24,
        )
    save(team, "sledai2k", p1, {
        "assessment_date": WEEK24.date(), "window_days": 10, "rash": True,
    }, visit="W24", actor=team.investigator, now=WEEK24)  # fmt: skip
    save(team, "renal", p1, {
        "assessment_date": WEEK24.date(), "specimen_type": "24h_urine",
        "upcr_value": Decimal("0.4"), "upcr_unit": "g/g",
        "serum_creatinine_value": Decimal("0.8"), "creatinine_unit": "mg/dL",
    }, visit="W24", now=WEEK24)  # fmt: skip
    return late


def build_trial() -> Trial:
    with at(SETUP):
        team = make_team(load("nct03673748.yaml"))
        allocation_import(
            actor=team.unblinded_statistician, trial=team.trial, csv_text=ALLOCATION_CSV, now=SETUP
        )
        p1 = _randomized(team, date(1990, 5, 17), "F")
        p2 = _randomized(team, date(1985, 11, 3), "M")
        p3 = _consented(team, register(team, born=date(1999, 2, 1)), fail="IN02")
    _selection(team, p1, p2)
    _day0(team, p1, p2)
    _after_day0(team, p1, p2)
    _week4(team, p1)
    p4 = _after_as_of(team, p1)
    for participant in (p1, p2, p3, p4):
        participant.refresh_from_db()
    return Trial(team=team, p1=p1, p2=p2, p3=p3, p4=p4)


def rows_of(ctx: ExportContext, name: str) -> list[dict[str, Any]]:
    """The rows of one dataset as this export writes them, by variable name."""
    for exported in exported_datasets(ctx):
        if exported.name == name:
            names = [variable.name for variable in exported.variables]
            return [dict(zip(names, row, strict=True)) for row in exported.rows(ctx)]
    raise KeyError(f"{name} is not in this export")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_xpt(path: Path) -> tuple[Any, Any]:
    import pyreadstat

    return pyreadstat.read_xport(str(path))


def write(ctx: ExportContext, fmt: str, folder: Path) -> tuple[list[WrittenFile], list[int]]:
    """Write an export, keeping every progress report."""
    reports: list[int] = []
    written = write_tabular(ctx, fmt, folder, reports.append)  # type: ignore[arg-type]
    return written, reports

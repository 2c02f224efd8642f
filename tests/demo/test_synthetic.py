"""The synthetic data generator on MSVLE: the command, consistency of what it writes with the
project's own calculators and rules in both modes, determinism, and bulk against services.

The dose-escalation trial (MSCROLE) runs the same checks in test_synthetic_cohorts.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import models, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import system_actor
from assessments.models import (
    EndOfStudy,
    EntryStatus,
    Infusion,
    ProtocolDeviation,
    RenalAssessment,
    SledaiAssessment,
)
from assessments.models.sledai import attributable_field, days_before_field, item_field
from assessments.rules.common import age_on
from assessments.rules.renal import EQUATIONS, RESPONSE_FIELDS, response_values
from assessments.scoring import (
    DESCRIPTORS,
    DescriptorInput,
    check_administered,
    egfr_ckd_epi,
    score_sledai2k,
    target_dose,
)
from assessments.selectors import revealing_fields
from casebook.catalogue import form_types
from demo.synthetic import (
    DEFAULT_AS_OF,
    PREFIX,
    SERVICE_LIMIT,
    Mix,
    cutoff_of,
    generate_synthetic,
)
from demo.synthetic.numbering import assign
from demo.synthetic.plan import TrialContext
from demo.synthetic.planning import plan_trial
from demo.synthetic.staff import staff_ensure
from demo.synthetic.story import participant_events
from ecrf.access import Role
from review.models import DataQuery
from review.services import lock_apply
from tests.factories import MembershipFactory, UserFactory
from tests.personas import NOW, load
from trials.definitions import current_version, definition_of
from trials.identifiers import is_valid_subject_identifier
from trials.models import (
    AllocationSlot,
    Cohort,
    Consent,
    CriterionKind,
    EligibilityAnswer,
    Participant,
    ProtocolVersion,
    Site,
    SiteCounter,
    Trial,
)
from trials.protocol import ProtocolDefinition
from visits.models import Visit, VisitStatus
from visits.schedule import Window

# Every test reads the module's runs from the test database.
pytestmark = pytest.mark.django_db

APPS = ("accounts", "trials", "visits", "assessments", "safety", "review", "alerts")
# Columns left out of natural keys: primary keys or text that embeds one, and log-in data.
KEYS = {"id", "history_id", "source_key", "correction_history_id"}
KEYS |= {"password", "security_stamp", "last_login", "date_joined"}
# The synthetic staff's accounts and memberships are made at the wall clock (the services take
# no `now`); they are the staff's set-up, not trial data, and differ between runs by design.
WALL_CLOCK = {
    "Membership": {"created_at"},
    "HistoricalMembership": {"created_at", "history_date"},
    "HistoricalUser": {"date_joined", "history_date"},
}
# Forms whose dates describe the time before the study (diagnosis, biopsy).
PRE_STUDY_FORMS = {"medical_history"}
SEED = 12
# Rates high enough that six participants show every outcome and every kind of finding.
MIX = Mix(
    screen_fail=0.25,
    withdraw=0.2,
    lost=0.2,
    missed_visit=0.15,
    out_of_window=0.3,
    correction=0.3,
    serious=0.3,
)
SUMMARY = re.compile(
    r"^(?P<trial>\w+): (?P<n>\d+) synthetic participants written \((?P<mode>\w+)\) in "
    r"[\d.]+ s, cut-off (?P<cutoff>[\d-]+ [\d:]+) UTC\. Participants now: (?P<statuses>.+)\.$",
    re.MULTILINE,
)


def _frozen(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _audited(model: type[models.Model]) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def _models() -> list[type[models.Model]]:
    return [
        model
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if not model.__name__.startswith("Historical")
    ]


@dataclass
class Run:
    """The database after one generation, read before it was rolled back."""

    # What the command printed, once per step of the run.
    outputs: list[str]
    definition: ProtocolDefinition
    cutoff: datetime
    rows: dict[type[models.Model], dict[int, dict[str, Any]]]
    history: dict[type[models.Model], list[dict[str, Any]]]
    # What existed before the run: primary keys of rows and of history records.
    before: dict[type[models.Model], set[int]]
    history_before: dict[type[models.Model], set[int]]
    # Renal responses as the project's rule derives them from the data at the end.
    responses: dict[int, dict[str, Any]]

    def all(self, model: type[models.Model]) -> list[dict[str, Any]]:
        return list(self.rows[model].values())

    def new(self, model: type[models.Model]) -> list[dict[str, Any]]:
        return [row for pk, row in self.rows[model].items() if pk not in self.before[model]]

    def new_history(self, model: type[models.Model]) -> list[dict[str, Any]]:
        old = self.history_before[model]
        return [h for h in self.history[model] if h["history_id"] not in old]

    def by(self, model: type[models.Model], name: str) -> dict[Any, list[dict[str, Any]]]:
        grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in self.all(model):
            grouped[row[name]].append(row)
        return grouped

    @property
    def participants(self) -> list[dict[str, Any]]:
        return self.all(Participant)

    def statuses(self) -> Counter[str]:
        return Counter(p["status"] for p in self.participants)


@contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint undone at the end: what ran inside leaves the database as it found it but
    for the primary key sequences, like a fresh database."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@dataclass
class Baseline:
    """The primary keys of rows and history records that exist before a run."""

    rows: dict[type[models.Model], set[int]]
    history: dict[type[models.Model], set[int]]

    @classmethod
    def now(cls) -> Baseline:
        return cls(
            rows={model: set(model.objects.values_list("pk", flat=True)) for model in _models()},
            history={
                model: set(model.history.values_list("history_id", flat=True))
                for model in _models()
                if _audited(model)
            },
        )


def read(trial_code: str, outputs: list[str], baseline: Baseline) -> Run:
    """Everything in the database after the steps that printed `outputs`."""
    trial = Trial.objects.get(code=trial_code)
    definition = definition_of(current_version(trial.pk))
    return Run(
        outputs=outputs,
        definition=definition,
        cutoff=cutoff_of(date.fromisoformat(summary_of(outputs[-1])["cutoff"][:10])),
        rows={model: {row["id"]: row for row in model.objects.values()} for model in _models()},
        history={model: list(model.history.values()) for model in _models() if _audited(model)},
        before=baseline.rows,
        history_before=baseline.history,
        responses={
            renal.pk: response_values(renal, definition)
            for renal in RenalAssessment.objects.select_related("participant")
        },
    )


def capture(trial_code: str, *steps: Callable[[], str]) -> Run:
    """Run the steps, read everything they wrote, and roll it all back."""
    with rolled_back():
        baseline = Baseline.now()
        return read(trial_code, [step() for step in steps], baseline)


def command(*args: str) -> str:
    out = StringIO()
    call_command("generate_synthetic", *args, stdout=out)
    return out.getvalue()


def through_api(trial_code: str, *, participants: int, mode: str, seed: int, mix: Mix) -> str:
    """`generate_synthetic` with a mix of outcomes the command does not offer; its summary
    printed as the command prints it."""
    summary = generate_synthetic(
        trial_code=trial_code, participants=participants, mode=mode, seed=seed, mix=mix
    )
    statuses = ", ".join(f"{count} {status}" for status, count in summary.by_status.items())
    return (
        f"{summary.trial}: {summary.participants} synthetic participants written "
        f"({summary.mode}) in {summary.seconds:.1f} s, cut-off "
        f"{summary.cutoff:%Y-%m-%d %H:%M} UTC. Participants now: {statuses}."
    )


def summary_of(output: str) -> dict[str, str]:
    match = SUMMARY.search(output)
    assert match is not None, output
    return match.groupdict()


def summary_statuses(output: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for part in summary_of(output)["statuses"].split(", "):
        count, status = part.split(" ")
        counts[status] = int(count)
    return counts


# Natural keys -------------------------------------------------------------------------------


class Natural:
    """Every row told by its content, with each key replaced by what it points at, so two runs
    compare whatever primary keys the database handed out."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.memo: dict[tuple[type[models.Model], int], Any] = {}
        self.types = {ct.pk: ct.model_class() for ct in ContentType.objects.all()}

    def ref(self, model: type[models.Model] | None, pk: Any) -> Any:
        if pk is None or model is None:
            return pk
        if (model, pk) not in self.memo:
            row = self.run.rows.get(model, {}).get(pk)
            self.memo[model, pk] = (
                (model.__name__, pk) if row is None else (model.__name__, self.key(model, row))
            )
        return self.memo[model, pk]

    def key(self, model: type[models.Model], row: dict[str, Any]) -> Any:
        """A short natural key where the model has one, else the whole content."""
        name = model.__name__
        if name == "User":
            return row["username"]
        if name in ("Trial", "Site", "Cohort"):
            return row["code"]
        if name == "ProtocolVersion":
            return (self.ref(Trial, row["trial_id"]), row["number"])
        if name == "Participant":
            return row["screening_number"]
        if name == "Visit":
            return (self.ref(Participant, row["participant_id"]), row["code"])
        if "entered_at" in row and "participant_id" in row:
            visit = self.ref(Visit, row.get("visit_id"))
            return (self.ref(Participant, row["participant_id"]), visit, row["entered_at"])
        if name == "DataQuery":
            participant = self.ref(Participant, row["participant_id"])
            return (participant, row["form_code"], row["field_name"], row["opened_at"])
        return self.content(model, row)

    def content(self, model: type[models.Model], row: dict[str, Any]) -> tuple[Any, ...]:
        skip = KEYS | WALL_CLOCK.get(model.__name__, set())
        values = []
        for f in model._meta.concrete_fields:
            if f.attname in skip:
                continue
            value = row[f.attname]
            if f.is_relation and f.related_model is ContentType:
                value = self.types[value].__name__ if value else None
            elif f.is_relation:
                value = self.ref(f.related_model, value)
            elif f.attname == "object_id" and row.get("content_type_id"):
                value = self.ref(self.types[row["content_type_id"]], value)
            values.append((f.attname, _frozen(value)))
        return tuple(values)

    def rows(self, model: type[models.Model]) -> Counter[Any]:
        return Counter(self.content(model, row) for row in self.run.all(model))

    def history(self, model: type[models.Model]) -> Counter[Any]:
        """Every version with the row it belongs to and its place in that row's history."""
        versions = defaultdict(list)
        for record in self.run.history[model]:
            versions[record["id"]].append(record)
        found: Counter[Any] = Counter()
        for pk, records in versions.items():
            records.sort(key=lambda record: record["history_id"])
            for place, record in enumerate(records):
                content = self.content(model.history.model, record)
                found[(self.ref(model, pk), place, content)] += 1
        return found


def differences(a: Run, b: Run) -> list[str]:
    """Per model, how many rows and history records one run has that the other has not."""
    left, right = Natural(a), Natural(b)
    found = []
    for model in _models():
        pairs = [("rows", left.rows(model), right.rows(model))]
        if _audited(model):
            pairs.append(("history", left.history(model), right.history(model)))
        for what, x, y in pairs:
            if x != y:
                example = next(iter((x - y) or (y - x)))
                found.append(
                    f"{model.__name__} {what}: {(x - y).total()} vs {(y - x).total()}, "
                    f"e.g. {str(example)[:600]}"
                )
    return found


# Fixtures ------------------------------------------------------------------------------------


def trial_loaded(protocol: str, django_db_blocker: Any) -> Iterator[None]:
    """The protocol loaded for a whole module, rolled back after its last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        load(protocol)
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def msvle(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield from trial_loaded("nct03673748.yaml", django_db_blocker)


@pytest.fixture(scope="module")
def runs(msvle: None, django_db_blocker: Any) -> dict[str, Run]:
    """Six MSVLE participants in each mode, and the bulk run again and with another seed."""
    with django_db_blocker.unblock():

        def api(mode: str, seed: int = SEED) -> Run:
            return capture(
                "MSVLE",
                lambda: through_api("MSVLE", participants=6, mode=mode, seed=seed, mix=MIX),
            )

        return {
            "bulk": api("bulk"),
            "bulk_again": api("bulk"),
            "bulk_other_seed": api("bulk", SEED + 1),
            "services": api("services"),
        }


# Consistency checks shared by both trials ---------------------------------------------------


class GeneratedDataChecks:
    """What must hold of a generated trial in either mode; a subclass supplies `runs` with a
    "services" and a "bulk" run."""

    @pytest.fixture(params=["services", "bulk"])
    def run(self, request: Any, runs: dict[str, Run]) -> Run:
        return runs[request.param]

    def test_summary_counts_the_participants_written(self, run: Run) -> None:
        written = sum(int(summary_of(output)["n"]) for output in run.outputs)
        assert written == len(run.new(Participant))
        assert summary_statuses(run.outputs[-1]) == run.statuses()
        assert all(p["registered_at"] <= run.cutoff for p in run.participants)

    def test_sledai_totals_are_the_calculators_over_the_stored_descriptors(self, run: Run) -> None:
        versions = run.all(SledaiAssessment) + run.history[SledaiAssessment]
        entered = [v for v in versions if v["entry_status"] == EntryStatus.ENTERED]
        assert entered
        for version in entered:
            result = score_sledai2k(
                [
                    DescriptorInput(
                        code=d.code,
                        present=version[item_field(d.code)],
                        attributable_to_sle=(
                            version[attributable_field(d.code)] if d.has_exclusion else None
                        ),
                        days_before_visit=version[days_before_field(d.code)],
                    )
                    for d in DESCRIPTORS
                ],
                window_days=version["window_days"],
            )
            stored = (version["total"], version["clinical_total"], version["calculator_version"])
            assert stored == (result.total, result.clinical_total, result.version), version
            assert version["contributions"] == [
                {"code": c.code, "weight": c.weight} for c in result.contributions
            ]
        assert any(version["total"] for version in entered)

    def test_egfr_is_the_calculators_for_the_stored_inputs(self, run: Run) -> None:
        parameter = run.definition.parameters.get("egfr_equation")
        equation = EQUATIONS[str(parameter.value) if parameter else "ckd_epi_2021"]
        people = run.rows[Participant]
        versions = run.all(RenalAssessment) + run.history[RenalAssessment]
        entered = [v for v in versions if v["entry_status"] == EntryStatus.ENTERED]
        assert entered
        for version in entered:
            person = people[version["participant_id"]]
            result = egfr_ckd_epi(
                age_years=age_on(person["date_of_birth"], version["assessment_date"]),
                sex=person["sex"],
                creatinine_value=version["serum_creatinine_value"],
                creatinine_unit=version["creatinine_unit"],
                equation=equation,
            )
            stored = (version["egfr"], version["age_years"], version["egfr_version"])
            assert stored == (result.egfr, int(result.age_years), result.version), version

    def test_renal_responses_are_what_the_rule_derives_from_the_final_data(self, run: Run) -> None:
        rows = run.all(RenalAssessment)
        for row in rows:
            assert {name: row[name] for name in RESPONSE_FIELDS} == run.responses[row["id"]]
        assert any(row["response_category"] for row in rows)

    def test_no_study_data_is_dated_before_consent(self, run: Run) -> None:
        consents = run.by(Consent, "participant_id")
        sites = {s["id"]: s["time_zone"] for s in run.all(Site)}
        checked = 0
        for person in run.participants:
            signed = consents[person["id"]]
            assert signed, f"{person['screening_number']} has no consent"
            consented = min(c["consent_date"] for c in signed)
            recorded = min(c["recorded_at"] for c in signed)
            tz = sites[person["site_id"]]
            for visit in run.by(Visit, "participant_id")[person["id"]]:
                if visit["actual_date"] is not None:
                    assert visit["actual_date"] >= consented, visit
            for answer in run.by(EligibilityAnswer, "participant_id")[person["id"]]:
                assert answer["answered_at"] >= recorded
            for ftype in form_types().values():
                for row in run.by(ftype.model, "participant_id")[person["id"]]:
                    assert row["entered_at"] >= recorded, (ftype.code, row)
                    if ftype.code in PRE_STUDY_FORMS:
                        continue
                    for name in ftype.date_fields:
                        value = row[name]
                        if isinstance(value, datetime):
                            value = timezone.localtime(value, ZoneInfo(tz)).date()
                        if isinstance(value, date):
                            assert value >= consented, (ftype.code, name, row)
                            checked += 1
                        elif value:
                            # A partial date: the month (or year) it names is not earlier.
                            assert value >= consented.isoformat()[: len(value)], (ftype.code, row)
        assert checked

    def test_screen_failures_are_never_randomized_nor_dosed(self, run: Run) -> None:
        failed = [p for p in run.participants if p["status"] == "screen_failed"]
        assert failed or run.definition.code == "MSCROLE"
        slots = {s["participant_id"] for s in run.all(AllocationSlot)}
        answers = run.by(EligibilityAnswer, "participant_id")
        for person in failed:
            assert person["randomized_at"] is None and not person["randomization_number"]
            assert not person["subject_id"] and person["day0"] is None
            assert person["cohort_id"] is None and person["id"] not in slots
            kinds = {v["kind"] for v in run.by(Visit, "participant_id")[person["id"]]}
            assert kinds == {"screening"}
            # The reason names a criterion the answers do fail.
            failing = [
                a["criterion_code"]
                for a in answers[person["id"]]
                if a["answer"] is (a["kind"] == CriterionKind.EXCLUSION)
            ]
            assert failing and failing[0] in person["screen_failure_reason"]

    def test_allocated_participants_have_a_slot_and_a_valid_subject_identifier(
        self, run: Run
    ) -> None:
        slots = {s["participant_id"]: s for s in run.all(AllocationSlot) if s["participant_id"]}
        allocated = [p for p in run.participants if p["randomized_at"] is not None]
        assert allocated
        for person in allocated:
            assert is_valid_subject_identifier(person["subject_id"]), person["subject_id"]
            if person["cohort_id"] is not None:
                assert person["id"] not in slots and not person["randomization_number"]
                continue
            slot = slots[person["id"]]
            assert slot["randomization_number"] == person["randomization_number"]
            assert slot["assigned_at"] == person["randomized_at"]
        assert len(slots) == len([p for p in allocated if p["cohort_id"] is None])
        identifiers = [p["subject_id"] for p in allocated]
        assert len(set(identifiers)) == len(identifiers)
        numbers = [p["screening_number"] for p in run.participants]
        assert len(set(numbers)) == len(numbers)
        # Day 0 follows randomization; everyone allocated before the cut-off has one.
        sites = {s["id"]: s["time_zone"] for s in run.all(Site)}
        for person in allocated:
            randomized = timezone.localtime(
                person["randomized_at"], ZoneInfo(sites[person["site_id"]])
            )
            assert person["day0"] is not None and person["day0"] >= randomized.date()

    def test_visit_dates_are_in_window_or_flagged_with_a_deviation(self, run: Run) -> None:
        sites = {s["id"]: s["time_zone"] for s in run.all(Site)}
        people = run.rows[Participant]
        deviations = {
            (d["visit_id"], d["category"]) for d in run.all(ProtocolDeviation) if d["visit_id"]
        }
        done = [v for v in run.all(Visit) if v["status"] == VisitStatus.COMPLETED]
        assert done
        for visit in done:
            tz = sites[people[visit["participant_id"]]["site_id"]]
            window = Window(
                visit["target_date"], visit["window_opens_at"], visit["window_closes_at"]
            )
            inside = window.contains(visit["actual_date"], tz)
            assert visit["out_of_window"] is not inside, visit
            if not inside:
                assert (visit["id"], "visit_window") in deviations, visit
            assert visit["actual_date"] <= run.cutoff.date()
        for visit in run.all(Visit):
            if visit["status"] == VisitStatus.NOT_DONE:
                assert visit["reason"].strip()
            if (
                visit["status"] in (VisitStatus.NOT_DONE, VisitStatus.MISSED)
                and not visit["optional"]
            ):
                assert (visit["id"], "missed_visit") in deviations, visit

    def test_participants_who_left_say_why_on_record_and_on_the_form(self, run: Run) -> None:
        ends = {e["participant_id"]: e for e in run.all(EndOfStudy)}
        left = [
            p
            for p in run.participants
            if p["status"] in ("withdrawn", "lost_to_follow_up", "completed")
        ]
        assert left
        for person in left:
            assert person["ended_at"] is not None and person["ended_at"] <= run.cutoff
            assert person["end_reason"].strip()
            form = ends[person["id"]]
            assert form["status"] == person["status"]
            if person["status"] != "completed":
                assert form["reason"].strip() == person["end_reason"]

    def test_every_row_written_has_one_creation_record_with_its_user(self, run: Run) -> None:
        users = {u["id"]: u["username"] for u in run.all(User)}
        system = system_actor().username
        checked = 0
        for model, _versions in run.history.items():
            created = Counter(h["id"] for h in run.new_history(model) if h["history_type"] == "+")
            rows = {row["id"] for row in run.new(model)}
            assert set(created) == rows, model.__name__
            assert all(count == 1 for count in created.values()), model.__name__
            for record in run.new_history(model):
                name = users.get(record["history_user_id"], "")
                assert name == system or name.startswith(PREFIX), (model.__name__, record)
                if model.__name__ not in ("Membership", "User"):
                    assert record["history_date"] <= run.cutoff, (model.__name__, record)
            checked += len(rows)
        assert checked > len(run.new(Participant)) * 10

    def test_each_rows_history_is_in_time_order_from_its_creation(self, run: Run) -> None:
        for model, records in run.history.items():
            versions = defaultdict(list)
            for record in records:
                # Rows of the protocol (cohorts) were created at load, at the wall clock.
                if record["id"] not in run.before[model]:
                    versions[record["id"]].append(record)
            for history in versions.values():
                history.sort(key=lambda record: record["history_id"])
                assert history[0]["history_type"] == "+", model.__name__
                dates = [record["history_date"] for record in history]
                assert dates == sorted(dates), (model.__name__, history)

    def test_infusion_doses_follow_the_calculator_and_the_allocation(self, run: Run) -> None:
        people = run.rows[Participant]
        slots = {s["participant_id"]: s for s in run.all(AllocationSlot) if s["participant_id"]}
        cohorts = {c["id"]: c for c in run.all(Cohort)}
        dosing = run.definition.dosing
        given = [i for i in run.all(Infusion) if i["given"] and i["cell_count_1e6"] is not None]
        assert given
        for infusion in given:
            person = people[infusion["participant_id"]]
            # The cohort's dose in dose escalation, else the protocol's (none until set).
            if person["cohort_id"] is not None:
                per_kg, placebo = cohorts[person["cohort_id"]]["dose_cells_per_kg"], False
            else:
                per_kg = dosing.cells_per_kg
                arm = run.definition.arm(slots[person["id"]]["arm_code"])
                placebo = arm.type == "placebo_comparator"
            if placebo:
                assert infusion["cell_count_1e6"] == 0
            else:
                assert infusion["cell_count_1e6"] > 0
            if per_kg is None:
                assert infusion["dose_cells_per_kg"] is None
                assert infusion["target_million_cells"] is None
                assert infusion["within_tolerance"] is None
                continue
            assert float(infusion["dose_cells_per_kg"]) == per_kg
            target = target_dose(infusion["weight_kg"], cells_per_kg=per_kg).target_million_cells
            stored = infusion["target_million_cells"]
            assert stored == target.quantize(stored)
            if placebo:
                assert infusion["within_tolerance"] is True
            else:
                check = check_administered(
                    target, infusion["cell_count_1e6"], tolerance=dosing.tolerance_pct / 100
                )
                assert infusion["within_tolerance"] is check.within_tolerance

    def test_blinded_readers_see_no_allocation_revealing_value(self, run: Run) -> None:
        """Warnings, queries, alerts and deviations are read by every role: none is about a
        field the selectors hide from blinded users, and no text quotes a kit or lot."""
        (version,) = run.all(ProtocolVersion)
        blinded_view = Participant(protocol_version_id=version["id"])
        hidden = {
            code: revealing_fields(ftype, blinded_view) for code, ftype in form_types().items()
        }
        assert hidden["infusion"] >= {"kit_number", "product_lot", "cell_count_1e6"}
        for code, ftype in form_types().items():
            for row in run.all(ftype.model) + run.history[ftype.model]:
                assert not {w["field"] for w in row["warnings"]} & hidden[code], (code, row)
        for query in run.all(DataQuery):
            assert query["field_name"] not in hidden[query["form_code"]], query
        product = {i["kit_number"] for i in run.all(Infusion)} | {
            i["product_lot"] for i in run.all(Infusion)
        }
        product -= {""}
        assert product
        for model, rows in run.rows.items():
            if model is Infusion:
                continue
            for row in rows.values():
                for value in row.values():
                    text = _frozen(value)
                    if isinstance(text, str):
                        assert not any(p in text for p in product), (model.__name__, row)


class TestMsvle(GeneratedDataChecks):
    def test_the_mix_shows_every_outcome(self, runs: dict[str, Run]) -> None:
        for mode in ("services", "bulk"):
            statuses = runs[mode].statuses()
            assert {
                "screen_failed",
                "withdrawn",
                "lost_to_follow_up",
                "completed",
                "on_study",
            } <= set(statuses)
            visits = Counter(v["status"] for v in runs[mode].all(Visit))
            assert visits[VisitStatus.MISSED] and visits[VisitStatus.NOT_DONE]
            assert any(v["out_of_window"] for v in runs[mode].all(Visit))


# Determinism and the two modes --------------------------------------------------------------


def test_the_same_seed_and_cut_off_give_the_same_data(runs: dict[str, Run]) -> None:
    assert differences(runs["bulk"], runs["bulk_again"]) == []


def test_another_seed_gives_other_data(runs: dict[str, Run]) -> None:
    found = differences(runs["bulk"], runs["bulk_other_seed"])
    assert any(line.startswith("Participant rows") for line in found)


def test_bulk_writes_the_rows_and_history_the_services_write(runs: dict[str, Run]) -> None:
    assert differences(runs["services"], runs["bulk"]) == []


def test_bulk_checks_a_sledai_against_its_visits_results_and_settles_queries_as_services_do(
    msvle: None, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every SLEDAI-2K leaves pyuria unticked while its visit's urine shows 9 WBC/hpf: each
    raises an automatic query, and a correction of the count closes it (and, above 5, opens
    one in its new words). The bulk path once checked a SLEDAI-2K before the renal assessment
    entered ahead of it at a visit from Day 0 on (deferred), and refused a correction that
    settled a query."""
    from decimal import Decimal

    from demo.synthetic import clinical

    renal_data, sledai_data = clinical.renal_data, clinical.sledai_data
    monkeypatch.setattr(
        clinical,
        "renal_data",
        lambda *args: {**renal_data(*args), "urine_wbc_hpf": Decimal("9.0")},
    )
    monkeypatch.setattr(
        clinical, "sledai_data", lambda *args: {**sledai_data(*args), "pyur": False}
    )
    runs = {
        mode: capture(
            "MSVLE",
            lambda mode=mode: through_api("MSVLE", participants=6, mode=mode, seed=SEED, mix=MIX),
        )
        for mode in ("services", "bulk")
    }
    assert differences(runs["services"], runs["bulk"]) == []
    closed = [q for q in runs["bulk"].all(DataQuery) if q["automatic"] and q["status"] == "closed"]
    assert closed and all(q["form_code"] == "sledai2k" for q in closed)


# The plan -----------------------------------------------------------------------------------

ISO_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


def _day_of(value: Any, time_zone: str) -> str | None:
    """A dated value as an ISO date (or month), in the site's calendar."""
    if isinstance(value, datetime):
        return timezone.localtime(value, ZoneInfo(time_zone)).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return value
    return None


def dated_ahead(trial_code: str, count: int) -> list[str]:
    """Plan `count` participants (without writing them) and check each one's events: in time
    order by the cut-off, registration and consent first. Return the values entered that are
    dated after the moment they are entered (writing refuses them); only Day 0 is set ahead,
    when the participant is randomized."""
    trial = Trial.objects.get(code=trial_code)
    version = current_version(trial.pk)
    sites = list(Site.objects.filter(trial=trial).order_by("code"))
    ctx = TrialContext(
        trial=trial,
        version=version,
        definition=definition_of(version),
        sites=sites,
        staff=staff_ensure(trial, sites),
        cutoff=cutoff_of(DEFAULT_AS_OF),
        seed=SEED,
        mix=MIX,
    )
    plan = plan_trial(ctx, first_ordinal=0, count=count)
    assign(ctx, plan)
    ahead = []
    for person in plan.participants:
        events = participant_events(ctx, person)
        assert [e.kind for e in events[:2]] == ["register", "consent"]
        moments = [e.at for e in events]
        assert moments == sorted(set(moments)) and moments[-1] <= ctx.cutoff
        for event in events:
            entered = _day_of(event.at, person.site.time_zone)
            assert entered is not None
            for name, value in event.data.items():
                day = _day_of(value, person.site.time_zone)
                if day is not None and day > entered[: len(day)] and name != "day0":
                    ahead.append(f"{person.screening_number} {event.form or event.kind} {name}")
    return ahead


def test_a_thousand_planned_participants_enter_nothing_dated_after_its_entry(
    msvle: None, db: None
) -> None:
    assert dated_ahead("MSVLE", 1000) == []


# The command ---------------------------------------------------------------------------------


def assert_numbered_once(people: list[Participant]) -> None:
    """Screening and subject numbers run from 1 at each site without gaps or repeats, the
    site counters stand at the last, and each allocation slot is taken once."""
    for site_code in {p.site.code for p in people}:
        at_site = [p for p in people if p.site.code == site_code]
        numbers = sorted(int(p.screening_number.rsplit("S", 1)[1]) for p in at_site)
        assert numbers == list(range(1, len(at_site) + 1))
        subjects = sorted(int(p.subject_id.split("-")[1]) for p in at_site if p.subject_id)
        assert subjects == list(range(1, len(subjects) + 1))
        assert all(is_valid_subject_identifier(p.subject_id) for p in at_site if p.subject_id)
        counters = dict(
            SiteCounter.objects.filter(site__code=site_code).values_list("kind", "last_value")
        )
        assert counters == {"screening": len(numbers), "subject": len(subjects)}
    randomization = [p.randomization_number for p in people if p.randomization_number]
    assert len(set(randomization)) == len(randomization) > 0
    taken = AllocationSlot.objects.filter(participant__isnull=False)
    assert sorted(taken.values_list("randomization_number", flat=True)) == sorted(randomization)


def _participants(trial: str) -> list[Participant]:
    return list(Participant.objects.filter(trial__code=trial).order_by("registered_at", "pk"))


def test_command_writes_through_the_services_then_appends_in_bulk(msvle: None, db: None) -> None:
    # Few enough for "auto" to call the services for every event.
    assert SERVICE_LIMIT >= 2
    first = command("--trial", "MSVLE", "--participants", "2")
    summary = summary_of(first)
    assert (summary["trial"], summary["n"], summary["mode"]) == ("MSVLE", "2", "services")
    assert summary["cutoff"] == f"{cutoff_of(DEFAULT_AS_OF):%Y-%m-%d %H:%M}"
    people = _participants("MSVLE")
    assert len(people) == 2
    assert summary_statuses(first) == Counter(p.status for p in people)

    with pytest.raises(CommandError, match="already has 2 synthetic participants"):
        command("--trial", "MSVLE", "--participants", "2")
    assert len(_participants("MSVLE")) == 2

    more = command("--trial", "MSVLE", "--participants", "12", "--mode", "bulk", "--append")
    assert summary_of(more)["mode"] == "bulk"
    people = _participants("MSVLE")
    assert len(people) == 14
    assert summary_statuses(more) == Counter(p.status for p in people)
    # Numbering goes on from the first run, without gaps or repeats.
    assert_numbered_once(people)


def test_command_writes_in_bulk_past_the_service_limit(msvle: None, db: None) -> None:
    count = SERVICE_LIMIT + 1
    # Chunks of 20: the bulk writer carries numbering and allocation across chunks.
    output = command(
        "--trial", "MSVLE", "--participants", str(count), "--seed", "11", "--chunk-size", "20"
    )
    summary = summary_of(output)
    assert (summary["n"], summary["mode"]) == (str(count), "bulk")
    people = _participants("MSVLE")
    assert len(people) == count
    assert summary_statuses(output) == Counter(p.status for p in people)
    assert len(set(summary_statuses(output))) >= 4
    assert_numbered_once(people)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--trial", "NOPE", "--participants", "3"), "There is no trial 'NOPE'"),
        (("--trial", "MSVLE", "--participants", "0"), "at least one participant"),
        (("--trial", "MSVLE", "--participants", "3", "--as-of", "31/03/2026"), "not a YYYY-MM-DD"),
        (("--trial", "MSVLE", "--participants", "3", "--chunk-size", "0"), "at least 1"),
    ],
)
def test_command_refuses_bad_arguments(
    msvle: None, db: None, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        command(*args)
    assert not Participant.objects.exists()


def test_command_refuses_a_cut_off_in_the_future(msvle: None, db: None) -> None:
    tomorrow = timezone.now().date() + timedelta(days=1)
    with pytest.raises(CommandError, match="is in the future"):
        command("--trial", "MSVLE", "--participants", "3", "--as-of", tomorrow.isoformat())
    assert not Participant.objects.exists()


def _lock(level: str, **where: Any) -> None:
    trial = Trial.objects.get(code="MSVLE")
    manager = UserFactory(username="locking_data_manager")
    MembershipFactory(user=manager, trial=trial, site=None, role=Role.DATA_MANAGER)
    lock_apply(actor=manager, level=level, trial=trial, reason="Database lock", now=NOW, **where)


@pytest.mark.parametrize("mode", ["services", "bulk"])
def test_command_refuses_a_locked_trial(msvle: None, db: None, mode: str) -> None:
    _lock("trial")
    with pytest.raises(CommandError, match="MSVLE is locked"):
        command("--trial", "MSVLE", "--participants", "3", "--mode", mode)
    assert not Participant.objects.exists()


@pytest.mark.parametrize("mode", ["services", "bulk"])
def test_command_refuses_a_locked_site_in_either_mode(msvle: None, db: None, mode: str) -> None:
    """Set-based writes pass no save guard, so the generator checks the locks itself."""
    site = Site.objects.get(trial__code="MSVLE")
    _lock("site", site=site)
    with pytest.raises(CommandError, match=f"site {site.code} is locked"):
        command("--trial", "MSVLE", "--participants", "3", "--mode", mode)
    assert not Participant.objects.exists()

"""Synthetic plans written in bulk: what each service would write is rebuilt in memory, form
values are checked and derived by the form types' own rules, and the rows and every version of
them go in with a few statements per chunk of participants."""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from accounts.models import User
from assessments.deviations import DRAFTED
from assessments.models import (
    ConcomitantMedication,
    EndOfStudy,
    EntryStatus,
    Infusion,
    LabResults,
    MedicalHistory,
    PregnancyTest,
    ProtocolDeviation,
    RenalAssessment,
    SledaiAssessment,
    VitalSigns,
)
from assessments.models.deviation import DeviationCategory, DeviationState, Origin
from assessments.registry import FormType, form_type
from assessments.rules.base import FormContext
from assessments.rules.renal import RESPONSE_FIELDS, response_values
from assessments.services import form_checks
from demo.synthetic.plan import ParticipantPlan, SyntheticError, TrialContext
from review.models import DataQuery, QueryAction, QueryMessage
from review.services import automatic_query, automatic_query_key
from safety.models import AdverseEvent
from trials.models import (
    AllocationSlot,
    Consent,
    CriterionKind,
    EligibilityAnswer,
    Participant,
    ParticipantStatus,
    SiteCounter,
)
from trials.services.randomization import randomized_stage
from visits.models import Visit, VisitStatus
from visits.schedule import Window, local_date

# The services' own row builders, so a bulk visit is the row a service would save.
from visits.services import schedule_rows, screening_rows

BATCH = 500
INITIAL = "Initial entry"
# Foreign keys to rows created in the same chunk: known only once those rows are inserted.
LINKS = ("participant_id", "visit_id", "object_id")
FORM_MODELS: tuple[type[models.Model], ...] = (
    MedicalHistory,
    SledaiAssessment,
    RenalAssessment,
    LabResults,
    VitalSigns,
    PregnancyTest,
    Infusion,
    ConcomitantMedication,
    AdverseEvent,
    ProtocolDeviation,
    EndOfStudy,
)
S = ParticipantStatus


@dataclass
class _Version:
    obj: Any
    kind: str
    at: datetime
    user: User
    reason: str
    values: dict[str, Any]
    seq: int


class _History:
    """Every version of every row, as simple-history would have recorded each save."""

    def __init__(self) -> None:
        self.pending: dict[type[models.Model], list[_Version]] = defaultdict(list)
        self.seq = itertools.count()

    def add(self, obj: Any, kind: str, at: datetime, user: User, reason: str) -> None:
        values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
        self.pending[type(obj)].append(
            _Version(obj, kind, at, user, reason, values, next(self.seq))
        )

    def flush(self, model: type[models.Model]) -> None:
        versions = sorted(self.pending.pop(model, []), key=lambda v: (v.at, v.seq))
        pk = model._meta.pk.attname  # type: ignore[union-attr]
        # Creations first: a row's later versions then have the higher history ids.
        for kind, update in (("+", False), ("~", True)):
            rows = []
            for version in versions:
                if version.kind != kind:
                    continue
                values = dict(version.values)
                for name in LINKS:
                    if name in values:
                        values[name] = getattr(version.obj, name)
                values[pk] = version.obj.pk
                rows.append(
                    SimpleNamespace(
                        **values,
                        _history_date=version.at,
                        _history_user=version.user,
                        _change_reason=version.reason,
                    )
                )
            if rows:
                model.history.bulk_history_create(  # type: ignore[attr-defined]
                    rows, batch_size=BATCH, update=update
                )


@dataclass
class _Person:
    plan: ParticipantPlan
    p: Participant
    states: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    visits: dict[str, Visit] = field(default_factory=dict)
    consent_date: date | None = None
    records: dict[str, Any] = field(default_factory=dict)
    renal: list[Any] = field(default_factory=list)
    drafts: list[tuple[Visit, datetime, User]] = field(default_factory=list)
    forms: list[Any] = field(default_factory=list)


class BulkWriter:
    def __init__(self, ctx: TrialContext, *, chunk_size: int = 500) -> None:
        self.ctx = ctx
        self.chunk_size = chunk_size
        definition = ctx.definition
        self.stage_code = (
            randomized_stage(definition).code
            if any(s.kind == "randomized" for s in definition.stages)
            else ""
        )
        eligibility = definition.eligibility
        self.kinds = {c.code: CriterionKind.INCLUSION for c in eligibility.inclusion}
        self.kinds |= {c.code: CriterionKind.EXCLUSION for c in eligibility.exclusion}

    def run(self, plans: list[ParticipantPlan], counters: dict[tuple[int, str], int]) -> None:
        for start in range(0, len(plans), self.chunk_size):
            _Chunk(self, plans[start : start + self.chunk_size]).write()
        for (site_id, kind), value in counters.items():
            counter, _ = SiteCounter.objects.get_or_create(site_id=site_id, kind=kind)
            if counter.last_value < value:
                SiteCounter.objects.filter(pk=counter.pk).update(last_value=value)


class _Chunk:
    def __init__(self, writer: BulkWriter, plans: list[ParticipantPlan]) -> None:
        self.writer = writer
        self.ctx = writer.ctx
        self.plans = plans
        self.history = _History()
        self.people: list[_Person] = []
        self.slots: list[AllocationSlot] = []
        self.warned: list[tuple[str, Any, dict[str, str], datetime]] = []
        self.dirty: list[Any] = []

    def actor(self, person: _Person, key: str) -> User:
        return self.ctx.staff.actor(key, person.plan.site)

    def write(self) -> None:
        for plan in self.plans:
            self.people.append(self.lifecycle(plan))
        self.flush_people()
        deferred: list[tuple[_Person, Any]] = []
        for person in self.people:
            self.drafts(person)
            later: set[str] = set()
            for event in person.forms:
                if self.post_day0_renal(person, event, later):
                    deferred.append((person, event))
                else:
                    self.form(person, event)
        flushed = self.flush_forms(FORM_MODELS)
        for person, event in deferred:
            self.form(person, event)
        self.flush_forms((RenalAssessment,), flushed=flushed)
        self.flush_queries()

    # Participants and visits -------------------------------------------------------------------

    def version(self, person: _Person, at: datetime, user: User, reason: str, kind: str) -> None:
        self.history.add(person.p, kind, at, user, reason)
        values = {
            f.attname: getattr(person.p, f.attname) for f in Participant._meta.concrete_fields
        }
        person.states.append((at, values))

    def lifecycle(self, plan: ParticipantPlan) -> _Person:
        """Everything but the forms, event by event, as the services would change it."""
        ctx = self.ctx
        tz = plan.site.time_zone
        person = _Person(plan=plan, p=Participant())
        for event in plan.events:
            at = event.at
            user = self.actor(person, event.actor)
            p = person.p
            kind = event.kind
            if kind == "register":
                person.p = Participant(
                    trial=ctx.trial,
                    site=plan.site,
                    protocol_version=ctx.version,
                    screening_number=plan.screening_number,
                    sex=plan.sex,
                    date_of_birth=plan.date_of_birth,
                    registered_at=at,
                )
                self.version(person, at, user, INITIAL, "+")
                for row in screening_rows(person.p, ctx.definition, time_zone=tz, now=at):
                    self.add_visit(person, row, at, user)
            elif kind == "consent":
                consent = Consent(
                    participant=p,
                    form_version="1.0",
                    consent_date=event.data["consent_date"],
                    obtained_by=user,
                    recorded_at=at,
                )
                person.consent_date = person.consent_date or consent.consent_date
                self.history.add(consent, "+", at, user, INITIAL)
            elif kind == "visit":
                self.record_visit(
                    person, person.visits[event.visit], event.data["actual_date"], at, user
                )
            elif kind == "not_done":
                visit = person.visits[event.visit]
                visit.status, visit.reason = VisitStatus.NOT_DONE, event.reason.strip()
                self.history.add(visit, "~", at, user, event.reason)
            elif kind == "answers":
                for code, answer in event.data["answers"].items():
                    answer_row = EligibilityAnswer(
                        participant=p,
                        criterion_code=code,
                        kind=self.writer.kinds[code],
                        answer=answer,
                        answered_at=at,
                    )
                    self.history.add(answer_row, "+", at, user, INITIAL)
            elif kind == "confirm":
                p.status = S.ELIGIBLE
                p.eligibility_confirmed_by, p.eligibility_confirmed_at = user, at
                self.version(person, at, user, "Eligibility confirmed by investigator", "~")
            elif kind == "screen_fail":
                p.status, p.ended_at = S.SCREEN_FAILED, at
                p.screen_failure_reason = event.reason.strip()
                self.version(person, at, user, event.reason, "~")
            elif kind == "randomize":
                assert plan.slot_id is not None
                self.slots.append(AllocationSlot(pk=plan.slot_id, participant=p, assigned_at=at))
                p.status, p.subject_id = S.RANDOMIZED, plan.subject_id
                p.stage_code = self.writer.stage_code
                p.randomization_number, p.randomized_at = plan.randomization_number, at
                self.version(person, at, user, "Randomized", "~")
            elif kind == "day0":
                self.day0(person, event.data["day0"], at, user)
            elif kind in ("withdraw", "lost", "complete"):
                status = {"withdraw": S.WITHDRAWN, "lost": S.LOST_TO_FOLLOW_UP}
                reason = "Study completed" if kind == "complete" else event.reason
                p.status = status.get(kind, S.COMPLETED)
                p.ended_at, p.end_reason = at, reason.strip()
                self.version(person, at, user, reason, "~")
            elif kind == "form":
                person.forms.append(event)
            else:
                # Dose-escalation enrolment and safety reviews go through the services.
                raise SyntheticError(f"The bulk path does not write {kind!r} events.")
        return person

    def add_visit(self, person: _Person, row: Visit, at: datetime, user: User) -> None:
        person.visits[row.code] = row
        self.history.add(row, "+", at, user, INITIAL)

    def record_visit(
        self, person: _Person, visit: Visit, actual: date, at: datetime, user: User
    ) -> None:
        tz = person.plan.site.time_zone
        if visit.window_opens_at is not None and visit.window_closes_at is not None:
            window = Window(
                visit.target_date or actual, visit.window_opens_at, visit.window_closes_at
            )
            visit.out_of_window = not window.contains(actual, tz)
        visit.actual_date, visit.status = actual, VisitStatus.COMPLETED
        self.history.add(visit, "~", at, user, INITIAL)
        if visit.out_of_window:
            person.drafts.append((visit, at, user))

    def day0(self, person: _Person, day0: date, at: datetime, user: User) -> None:
        p = person.p
        tz = person.plan.site.time_zone
        p.status, p.day0 = S.ON_STUDY, day0
        self.version(person, at, user, "Day 0 set", "~")
        for row in schedule_rows(p, self.ctx.definition, time_zone=tz, now=at):
            self.add_visit(person, row, at, user)

    def flush_people(self) -> None:
        people = [person.p for person in self.people]
        Participant.objects.bulk_create(people, batch_size=BATCH)
        visits = [visit for person in self.people for visit in person.visits.values()]
        Visit.objects.bulk_create(visits, batch_size=BATCH)
        for model in (Consent, EligibilityAnswer):
            rows = [v.obj for v in self.history.pending[model]]
            model.objects.bulk_create(rows, batch_size=BATCH)  # type: ignore[attr-defined]
        for logged in (Participant, Visit, Consent, EligibilityAnswer):
            self.history.flush(logged)
        if self.slots:
            AllocationSlot.objects.bulk_update(
                self.slots, ["participant", "assigned_at"], batch_size=BATCH
            )

    # Forms -------------------------------------------------------------------------------------

    def state(self, person: _Person, at: datetime) -> Participant:
        """The participant as the service would have read it at `at`."""
        values = next(values for when, values in reversed(person.states) if when <= at)
        state = copy.copy(person.p)
        state.__dict__.update({k: v for k, v in values.items() if k != "id"})
        return state

    def drafts(self, person: _Person) -> None:
        """The deviation a visit recorded out of its window drafts."""
        for visit, at, user in person.drafts:
            draft = ProtocolDeviation(
                participant=person.p,
                visit=visit,
                protocol_version_id=visit.protocol_version_id,
                entered_at=at,
                updated_at=at,
                occurred_on=visit.actual_date,
                category=DeviationCategory.VISIT_WINDOW,
                description=f"Visit {visit.code} ({visit.name}) took place on "
                f"{visit.actual_date:%Y-%m-%d}, outside its window.",
                origin=Origin.AUTOMATIC,
                state=DeviationState.DRAFT,
                source_key=f"visit_window:{visit.pk}",
            )
            person.records[f"auto:visit_window:{visit.code}"] = draft
            self.history.add(draft, "+", at, user, DRAFTED)

    def post_day0_renal(self, person: _Person, event: Any, later: set[str]) -> bool:
        """Responses of assessments from Day 0 on read the baseline and the medication log
        from the database, so they are derived once those rows are in; so are their changes."""
        if event.form != "renal":
            return False
        key = f"renal@{event.visit}"
        if key in later:
            return True
        day0 = self.state(person, event.at).day0
        day = event.data.get("assessment_date")
        if day0 is not None and day is not None and day >= day0:
            later.add(key)
            return True
        return False

    def form(self, person: _Person, event: Any) -> None:
        """What `form_save` does, on the row in memory."""
        ftype = form_type(event.form)
        visit = person.visits[event.visit] if event.visit else None
        if event.key:
            key = event.key
        elif ftype.scope == "visit":
            key = f"{ftype.code}@{event.visit}"
        else:
            key = ftype.code
        existing = person.records.get(key)
        state = self.state(person, event.at)
        at = event.at
        if existing is None:
            version = visit.protocol_version_id if visit else person.p.protocol_version_id
            instance = ftype.model(
                participant=state,
                visit=visit,
                protocol_version_id=version,
                entered_at=at,
                row_version=1,
            )
        else:
            instance = existing
            instance.row_version += 1
            instance.participant = state
        for name, value in event.data.items():
            setattr(instance, name, value)
        role = "system" if event.actor == "system" else event.actor
        ctx = FormContext(
            participant=state,
            visit=visit,
            definition=self.ctx.definition,
            now=at,
            consent_date=person.consent_date,
            actor_roles=frozenset({role}),
        )
        checks = form_checks(ftype, instance, ctx)
        if checks.errors:
            raise SyntheticError(
                f"{ftype.label} of {person.plan.screening_number} at {at:%Y-%m-%d %H:%M} was "
                f"refused: {checks.errors}"
            )
        ftype.derive(instance, ctx)
        instance.warnings = checks.warnings
        instance.entry_status = EntryStatus.ENTERED
        instance.not_done_reason = ""
        instance.updated_at = at
        instance.clean_fields(exclude=[f.name for f in instance._meta.fields if f.is_relation])
        user = self.actor(person, event.actor)
        self.history.add(
            instance, "+" if existing is None else "~", at, user, event.reason.strip() or INITIAL
        )
        if existing is None:
            person.records[key] = instance
            if ftype.code == "renal":
                person.renal.append(instance)
        self.after_save(person, ftype, instance, state, at, user)
        for warning in instance.warnings:
            self.warned.append((ftype.code, instance, warning, at))

    def after_save(
        self,
        person: _Person,
        ftype: FormType,
        instance: Any,
        state: Participant,
        at: datetime,
        user: User,
    ) -> None:
        if ftype.code == "infusion" and instance.given and instance.start_time is not None:
            day = local_date(instance.start_time, person.plan.site.time_zone)
            if instance.visit.actual_date != day:
                raise SyntheticError("An infusion must be planned on the day of its visit.")
        if ftype.code not in ("renal", "conmed"):
            return
        reason = (
            "Recomputed: baseline changed"
            if ftype.code == "renal"
            else "Recomputed: concomitant medication changed"
        )
        for other in person.renal:
            if other is instance or other.entry_status != EntryStatus.ENTERED:
                continue
            day = other.assessment_date
            # From Day 0 on, a later save never changes an earlier response in these plans
            # (baseline never corrected, medication entered before the assessment of its
            # visit); the equivalence tests hold the bulk path to that.
            if day is None or (state.day0 is not None and day >= state.day0):
                continue
            other.participant = state
            values = response_values(other, self.ctx.definition)
            if all(getattr(other, name) == value for name, value in values.items()):
                continue
            for name, value in values.items():
                setattr(other, name, value)
            other.row_version += 1
            other.updated_at = at
            self.history.add(other, "~", at, user, reason)
            if other.pk is not None:
                self.dirty.append(other)

    def flush_forms(
        self, models_: tuple[type[models.Model], ...], flushed: set[int] | None = None
    ) -> set[int]:
        done = set(flushed or ())
        for model in models_:
            rows = []
            for person in self.people:
                for instance in person.records.values():
                    if type(instance) is model and id(instance) not in done:
                        rows.append(instance)
                        done.add(id(instance))
            model.objects.bulk_create(rows, batch_size=BATCH)  # type: ignore[attr-defined]
            self.history.flush(model)
        if self.dirty:
            RenalAssessment.objects.bulk_update(
                self.dirty, [*RESPONSE_FIELDS, "row_version", "updated_at"], batch_size=BATCH
            )
            self.dirty = []
        return done

    def flush_queries(self) -> None:
        """Every warning kept on a form is an automatic query, once, as the services raise it."""
        system = self.ctx.staff.system
        seen: set[str] = set()
        queries, messages = [], []
        types: dict[type[models.Model], ContentType] = {}
        for form_code, record, warning, at in self.warned:
            key = automatic_query_key(form_code, record, warning)
            if key in seen:
                continue
            seen.add(key)
            model = type(record)
            if model not in types:
                types[model] = ContentType.objects.get_for_model(model)
            query = automatic_query(
                form_code=form_code,
                record=record,
                warning=warning,
                actor=system,
                now=at,
                content_type=types[model],
            )
            queries.append(query)
            self.history.add(query, "+", at, system, INITIAL)
            messages.append(
                QueryMessage(
                    query=query,
                    action=QueryAction.OPEN,
                    actor=system,
                    role="system",
                    text=warning["message"],
                    at=at,
                )
            )
        DataQuery.objects.bulk_create(queries, batch_size=BATCH)
        QueryMessage.objects.bulk_create(messages, batch_size=BATCH)
        self.history.flush(DataQuery)

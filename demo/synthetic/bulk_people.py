"""The participants of a chunk of plans with their consents, eligibility answers and visits:
each event changes the rows in memory as its service would, then all are written at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from accounts.models import User
from demo.reconfirm import COMMENT, reconfirmed_at_randomization
from demo.synthetic.bulk_history import BATCH, INITIAL, History
from demo.synthetic.plan import ParticipantPlan, SyntheticError, TrialContext
from ecrf.site_time import local_date
from trials.models import (
    AllocationSlot,
    Consent,
    EligibilityAnswer,
    EligibilityReconfirmation,
    Participant,
    ParticipantStatus,
)
from visits.models import Visit, VisitStatus
from visits.schedule import Window

# The services' own row builders, so a bulk visit is the row a service would save.
from visits.services import schedule_rows, screening_rows

S = ParticipantStatus


@dataclass
class Person:
    """One participant of the chunk: its row in memory, the states it went through, its visits
    and its form records by key."""

    plan: ParticipantPlan
    p: Participant
    states: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    visits: dict[str, Visit] = field(default_factory=dict)
    consent_date: date | None = None
    records: dict[str, Any] = field(default_factory=dict)
    renal: list[Any] = field(default_factory=list)
    drafts: list[tuple[Visit, datetime, User]] = field(default_factory=list)
    forms: list[Any] = field(default_factory=list)


def actor_of(ctx: TrialContext, person: Person, key: str) -> User:
    """The synthetic staff member behind an event of `person`: `key` names the role."""
    return ctx.staff.actor(key, person.plan.site)


class PeopleRows:
    """Participants and their visits, built event by event, then written with their history."""

    def __init__(
        self, ctx: TrialContext, history: History, *, kinds: Mapping[str, str], stage_code: str
    ) -> None:
        self.ctx = ctx
        self.history = history
        # The kind (inclusion or exclusion) of every eligibility criterion, by code.
        self.kinds = kinds
        self.stage_code = stage_code
        self.people: list[Person] = []
        self.slots: list[AllocationSlot] = []

    def version(self, person: Person, at: datetime, user: User, reason: str, kind: str) -> None:
        self.history.add(person.p, kind, at, user, reason)
        values = {
            f.attname: getattr(person.p, f.attname) for f in Participant._meta.concrete_fields
        }
        person.states.append((at, values))

    def lifecycle(self, plan: ParticipantPlan) -> Person:
        """Everything but the forms, event by event, as the services would change it."""
        ctx = self.ctx
        tz = plan.site.time_zone
        person = Person(plan=plan, p=Participant())
        for event in plan.events:
            at = event.at
            user = actor_of(ctx, person, event.actor)
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
                        kind=self.kinds[code],
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
                for code, answer in reconfirmed_at_randomization(ctx.definition).items():
                    again = EligibilityReconfirmation(
                        participant=p,
                        criterion_code=code,
                        kind=self.kinds[code],
                        answer=answer,
                        comment=COMMENT,
                        confirmed_at=at,
                        site_date=local_date(at, tz),
                        confirmed_by=user,
                    )
                    self.history.add(again, "+", at, user, COMMENT)
                assert plan.slot_id is not None
                self.slots.append(AllocationSlot(pk=plan.slot_id, participant=p, assigned_at=at))
                p.status, p.subject_id = S.RANDOMIZED, plan.subject_id
                p.stage_code = self.stage_code
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

    def add_visit(self, person: Person, row: Visit, at: datetime, user: User) -> None:
        person.visits[row.code] = row
        self.history.add(row, "+", at, user, INITIAL)

    def record_visit(
        self, person: Person, visit: Visit, actual: date, at: datetime, user: User
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

    def day0(self, person: Person, day0: date, at: datetime, user: User) -> None:
        p = person.p
        tz = person.plan.site.time_zone
        p.status, p.day0 = S.ON_STUDY, day0
        self.version(person, at, user, "Day 0 set", "~")
        for row in schedule_rows(p, self.ctx.definition, time_zone=tz, now=at):
            self.add_visit(person, row, at, user)

    def flush(self) -> None:
        people = [person.p for person in self.people]
        Participant.objects.bulk_create(people, batch_size=BATCH)
        visits = [visit for person in self.people for visit in person.visits.values()]
        Visit.objects.bulk_create(visits, batch_size=BATCH)
        for model in (Consent, EligibilityAnswer, EligibilityReconfirmation):
            rows = [v.obj for v in self.history.pending[model]]
            model.objects.bulk_create(rows, batch_size=BATCH)  # type: ignore[attr-defined]
        for logged in (Participant, Visit, Consent, EligibilityAnswer, EligibilityReconfirmation):
            self.history.flush(logged)
        if self.slots:
            AllocationSlot.objects.bulk_update(
                self.slots, ["participant", "assigned_at"], batch_size=BATCH
            )

"""Synthetic plans carried out through the services: one call per event, in time order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from simple_history.signals import pre_create_historical_record

from assessments.models import ProtocolDeviation
from assessments.services import form_save
from assessments.services.visits import visit_not_done, visit_record
from casebook.catalogue import form_type
from demo.reconfirm import reconfirm_before_randomization
from demo.synthetic.plan import Event, ParticipantPlan, SyntheticError, TrialContext
from trials.models import Cohort, Participant
from trials.services import (
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    participant_complete,
    participant_enrol,
    participant_lost_to_follow_up,
    participant_randomize,
    participant_screen_fail,
    participant_withdraw,
    safety_review_record,
)
from visits.models import Visit
from visits.services import participant_register, participant_set_day0

CONSENT_FORM_VERSION = "1.0"
_CLOCK: ContextVar[datetime | None] = ContextVar("synthetic_history_clock", default=None)


def _stamp(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    # A service stamps history with the wall clock; a synthetic event happened at its own time.
    clock = _CLOCK.get()
    if clock is not None:
        history_instance.history_date = clock


pre_create_historical_record.connect(_stamp, dispatch_uid="demo.synthetic.history_clock")


@contextmanager
def history_clock(at: datetime) -> Iterator[None]:
    """History written inside is dated `at`, the instant the synthetic event took place."""
    token = _CLOCK.set(at)
    try:
        yield
    finally:
        _CLOCK.reset(token)


class ServiceWriter:
    """Calls the services for every event of the plans, merged in time order as they happened,
    and checks that the services handed out the identifiers the plan expects."""

    def __init__(self, ctx: TrialContext) -> None:
        self.ctx = ctx
        self.participants: dict[int, int] = {}
        self.records: dict[tuple[int, str], int] = {}

    def run(self, plans: list[ParticipantPlan], trial_events: list[Event]) -> None:
        stream: list[tuple[datetime, int, int, ParticipantPlan | None, Event]] = [
            (event.at, -1, index, None, event) for index, event in enumerate(trial_events)
        ]
        for plan in plans:
            stream.extend(
                (event.at, plan.ordinal, index, plan, event)
                for index, event in enumerate(plan.events)
            )
        stream.sort(key=lambda item: item[:3])
        for _at, _ordinal, _index, owner, event in stream:
            with history_clock(event.at):
                if owner is None:
                    self.review(event)
                else:
                    self.apply(owner, event)

    def review(self, event: Event) -> None:
        cohort = Cohort.objects.get(trial=self.ctx.trial, code=event.data["cohort"])
        safety_review_record(
            actor=self.ctx.staff.actor(event.actor),
            cohort=cohort,
            decision="escalate",
            rationale=event.data["rationale"],
            now=event.at,
        )

    def participant(self, plan: ParticipantPlan) -> Participant:
        return Participant.objects.select_related("site", "trial", "protocol_version").get(
            pk=self.participants[plan.ordinal]
        )

    def visit(self, participant: Participant, code: str) -> Visit:
        return Visit.objects.select_related("participant__site", "participant__trial").get(
            participant=participant, code=code
        )

    def apply(self, plan: ParticipantPlan, event: Event) -> None:
        ctx, at = self.ctx, event.at
        actor = ctx.staff.actor(event.actor, plan.site)
        if event.kind == "register":
            participant = participant_register(
                actor=actor, site=plan.site, sex=plan.sex, date_of_birth=plan.date_of_birth, now=at
            )
            self.participants[plan.ordinal] = participant.pk
            _expect(participant.screening_number, plan.screening_number, "screening number")
            return
        participant = self.participant(plan)
        kind = event.kind
        if kind == "consent":
            consent_record(
                actor=actor,
                participant=participant,
                form_version=CONSENT_FORM_VERSION,
                consent_date=event.data["consent_date"],
                now=at,
            )
        elif kind == "visit":
            visit_record(
                actor=actor,
                visit=self.visit(participant, event.visit),
                actual_date=event.data["actual_date"],
                now=at,
            )
        elif kind == "not_done":
            visit_not_done(
                actor=actor, visit=self.visit(participant, event.visit), reason=event.reason, now=at
            )
        elif kind == "answers":
            for code, answer in event.data["answers"].items():
                eligibility_answer(
                    actor=actor, participant=participant, criterion_code=code, answer=answer, now=at
                )
        elif kind == "confirm":
            eligibility_confirm(actor=actor, participant=participant, now=at)
        elif kind == "screen_fail":
            participant_screen_fail(
                actor=actor, participant=participant, reason=event.reason, now=at
            )
        elif kind == "randomize":
            reconfirm_before_randomization(actor=actor, participant=participant, now=at)
            done = participant_randomize(
                actor=actor,
                participant=participant,
                strata_values=event.data["strata_values"],
                now=at,
            )
            _expect(done.subject_id or "", plan.subject_id, "subject identifier")
            _expect(done.randomization_number, plan.randomization_number, "randomization number")
        elif kind == "enrol":
            done = participant_enrol(actor=actor, participant=participant, now=at)
            _expect(done.subject_id or "", plan.subject_id, "subject identifier")
            assert plan.cohort is not None
            _expect(done.cohort.code if done.cohort else "", plan.cohort.code, "cohort")
        elif kind == "day0":
            participant_set_day0(
                actor=actor, participant=participant, day0=event.data["day0"], now=at
            )
        elif kind == "form":
            self.form(plan, participant, event)
        elif kind == "withdraw":
            participant_withdraw(actor=actor, participant=participant, reason=event.reason, now=at)
        elif kind == "lost":
            participant_lost_to_follow_up(
                actor=actor, participant=participant, reason=event.reason, now=at
            )
        elif kind == "complete":
            participant_complete(actor=actor, participant=participant, now=at)
        else:
            raise ValueError(f"Unknown synthetic event {kind!r}")

    def form(self, plan: ParticipantPlan, participant: Participant, event: Event) -> None:
        ftype = form_type(event.form)
        visit = self.visit(participant, event.visit) if event.visit else None
        record_id = None
        model = ftype.model
        if event.key.startswith("auto:"):
            # A draft raised by a service: found by the finding it records.
            assert visit is not None
            category = event.key.split(":")[1]
            record_id = ProtocolDeviation.objects.get(
                participant=participant, source_key=f"{category}:{visit.pk}"
            ).pk
        elif event.key and ftype.scope in ("log", "repeating"):
            record_id = self.records.get((plan.ordinal, event.key))
        if ftype.scope == "visit":
            existing = model.objects.filter(visit=visit)
        elif ftype.scope == "participant":
            existing = model.objects.filter(participant=participant)
        else:
            existing = model.objects.filter(pk=record_id)
        version = existing.values_list("row_version", flat=True).first()
        saved = form_save(
            actor=self.ctx.staff.actor(event.actor, plan.site),
            ftype=form_type(event.form),
            participant=participant,
            data=dict(event.data),
            visit=visit,
            record_id=record_id,
            expected_version=version,
            reason=event.reason,
            now=event.at,
        )
        if event.key:
            self.records[plan.ordinal, event.key] = saved.pk


def _expect(got: str, planned: str, what: str) -> None:
    if got != planned:
        raise SyntheticError(
            f"The services gave {what} {got!r} where the plan expected {planned!r}: the trial "
            "changed while the synthetic data was being written."
        )

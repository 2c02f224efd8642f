"""Synthetic trial data for demos, tests and benchmarks, written as the services would write it."""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

from django.db import connection, transaction
from django.utils import timezone

from casebook.forms_pending import forms_pending_recount
from demo.synthetic.in_bulk import BulkWriter
from demo.synthetic.numbering import assign
from demo.synthetic.plan import Mix, SyntheticError, TrialContext
from demo.synthetic.planning import plan_trial
from demo.synthetic.staff import PREFIX, staff_ensure, synthetic_participants
from demo.synthetic.story import participant_events
from demo.synthetic.via_services import ServiceWriter
from review.locks import active_lock
from review.services.locks import trial_is_locked
from trials.definitions import current_version, definition_of
from trials.models import Site, Trial
from trials.protocol import ProtocolDefinition
from visits.models import Visit

Mode = Literal["auto", "services", "bulk"]
DEFAULT_SEED = 20240101
# The data cut-off: everything generated happened by the end of this day (UTC).
DEFAULT_AS_OF = date(2026, 3, 31)
# Up to this many participants, "auto" calls the services for every event.
SERVICE_LIMIT = 50

__all__ = [
    "DEFAULT_AS_OF",
    "DEFAULT_SEED",
    "PREFIX",
    "SERVICE_LIMIT",
    "Mix",
    "Summary",
    "SyntheticError",
    "cutoff_of",
    "generate_synthetic",
    "synthetic_participants",
]


@dataclass(frozen=True)
class Summary:
    trial: str
    participants: int
    mode: str
    cutoff: datetime
    seconds: float
    by_status: dict[str, int]


def cutoff_of(as_of: date) -> datetime:
    """The instant of the data cut-off on day `as_of`."""
    return datetime.combine(as_of, time(23, 0), tzinfo=UTC)


def _sites(trial: Trial, definition: ProtocolDefinition) -> list[Site]:
    """The sites participants can be randomized at: every site a site stratum names."""
    sites = list(Site.objects.filter(trial=trial).order_by("code"))
    factors = [f for f in definition.stratification_factors if f.source == "site"]
    randomized = any(stage.kind == "randomized" for stage in definition.stages)
    if randomized and definition.randomization is not None:
        for factor in factors:
            if factor.code in definition.randomization.strata:
                sites = [site for site in sites if site.code in factor.levels]
    if not sites:
        raise SyntheticError(f"{trial.code} has no site participants could be randomized at.")
    return sites


def _flag_visits(trial: Trial, now: datetime) -> None:
    """What the visit job finds at the cut-off, for this trial only: windows that opened,
    visits overdue or missed, with their alerts and deviation drafts."""
    from accounts.services import system_actor
    from flagging import visits as visit_flagging

    actor = system_actor()
    for kind in (visit_flagging.MISSED, visit_flagging.OVERDUE, visit_flagging.OPENED):
        while True:
            ids = list(
                visit_flagging.due(kind, now)
                .filter(participant__trial=trial)
                .values_list("pk", flat=True)[:1000]
            )
            if not ids or not visit_flagging._apply(kind, ids, actor=actor, now=now):
                break


def generate_synthetic(
    *,
    trial_code: str,
    participants: int,
    seed: int = DEFAULT_SEED,
    as_of: date = DEFAULT_AS_OF,
    append: bool = False,
    mode: Mode = "auto",
    chunk_size: int = 500,
    mix: Mix | None = None,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Add `participants` synthetic participants to a trial whose protocol is loaded.

    Deterministic for a given seed, cut-off and trial state. A trial that already has synthetic
    participants is refused unless `append` is set. Everything is written in one transaction.
    """
    started = clock.monotonic()
    say = progress or (lambda message: None)
    trial = Trial.objects.filter(code=trial_code).first()
    if trial is None:
        raise SyntheticError(f"There is no trial {trial_code!r}; load its protocol first.")
    if participants < 1:
        raise SyntheticError("Ask for at least one participant.")
    if mode not in ("auto", "services", "bulk"):
        raise SyntheticError(f"Unknown mode {mode!r}: use auto, services or bulk.")
    cutoff = cutoff_of(as_of)
    if cutoff > timezone.now():
        raise SyntheticError(f"The cut-off {as_of} is in the future; give a past --as-of.")
    if trial_is_locked(trial):
        raise SyntheticError(f"{trial.code} is locked; no data may be added.")
    existing = synthetic_participants(trial)
    if existing and not append:
        raise SyntheticError(
            f"{trial.code} already has {existing} synthetic participants; pass --append to add "
            "more (they continue the numbering), or use a fresh database."
        )
    version = current_version(trial.pk)
    definition = definition_of(version)
    use_services = mode == "services" or (mode == "auto" and participants <= SERVICE_LIMIT)
    sites = _sites(trial, definition)
    # Set-based writes pass no save guard: a locked site is refused here, in either mode.
    for site in sites:
        if active_lock(trial_id=trial.pk, site_id=site.pk, participant_id=None) is not None:
            raise SyntheticError(f"{trial.code} site {site.code} is locked; no data may be added.")
    with transaction.atomic():
        ctx = TrialContext(
            trial=trial,
            version=version,
            definition=definition,
            sites=sites,
            staff=staff_ensure(trial, sites),
            cutoff=cutoff,
            seed=seed,
            mix=mix or Mix(),
        )
        plan = plan_trial(ctx, first_ordinal=existing, count=participants)
        assign(ctx, plan)
        for person in plan.participants:
            person.events = participant_events(ctx, person)
        reviews = [event for event in plan.events if event.at <= cutoff]
        say(f"Planned {participants} participants of {trial.code}.")
        if use_services:
            ServiceWriter(ctx).run(plan.participants, reviews)
        else:
            # Dose-escalation cohorts and their safety reviews are few and share state: they
            # go through the services; everyone else is written in bulk.
            cohorts = [p for p in plan.participants if p.in_cohort]
            ServiceWriter(ctx).run(cohorts, reviews)
            rest = [p for p in plan.participants if not p.in_cohort]
            BulkWriter(ctx, chunk_size=chunk_size).run(rest, plan.counters)
        say("Flagging visits as the visit job would at the cut-off.")
        _flag_visits(trial, cutoff)
        # The bulk writer writes records without the form services that strike them off.
        forms_pending_recount(Visit.objects.filter(participant__trial=trial))
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    from trials.models import Participant

    statuses: dict[str, int] = {}
    for status in (
        Participant.objects.filter(trial=trial).values_list("status", flat=True).order_by()
    ):
        statuses[status] = statuses.get(status, 0) + 1
    return Summary(
        trial=trial.code,
        participants=participants,
        mode="services" if use_services else "bulk",
        cutoff=cutoff,
        seconds=clock.monotonic() - started,
        by_status=dict(sorted(statuses.items())),
    )

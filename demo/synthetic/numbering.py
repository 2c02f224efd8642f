"""Screening numbers, subject identifiers and allocation slots given to a plan, in the order
the services hand them out."""

from __future__ import annotations

from datetime import timedelta

from demo.synthetic.plan import ACCRUAL_DAYS, SyntheticError, TrialContext, TrialPlan
from trials.identifiers import screening_number, subject_identifier
from trials.models import AllocationList, AllocationSlot, Participant, Site, SiteCounter
from trials.services import allocation_generate
from trials.services.randomization import stratum_of


def _counter(site: Site, kind: str) -> int:
    row = SiteCounter.objects.filter(site=site, kind=kind).first()
    return row.last_value if row is not None else 0


def _allocation_list(ctx: TrialContext, needed: dict[str, int]) -> AllocationList | None:
    stages = [s for s in ctx.definition.stages if s.kind == "randomized"]
    if not stages or not needed:
        return None
    stage = stages[0]
    found = AllocationList.objects.filter(trial=ctx.trial, stage_code=stage.code).first()
    if found is None:
        planned = stage.planned_n or ctx.definition.planned_enrollment
        found = allocation_generate(
            actor=ctx.staff.actor("unblinded_statistician"),
            trial=ctx.trial,
            seed=f"synthetic-allocation-{ctx.seed}-{ctx.trial.code}",
            per_stratum=max(needed.values()) + planned,
            now=ctx.cutoff - timedelta(days=ACCRUAL_DAYS + 30),
        )
    return found


def assign(ctx: TrialContext, plan: TrialPlan) -> None:
    """Screening numbers, subject identifiers and allocation slots, in the order the services
    hand them out: by the time of registration and of randomization or enrolment."""
    people = plan.participants
    registered = sorted(
        (p for p in people if p.registered_at <= ctx.cutoff),
        key=lambda p: (p.registered_at, p.ordinal),
    )
    numbers = {site.pk: _counter(site, "screening") for site in ctx.sites}
    for person in registered:
        numbers[person.site.pk] += 1
        person.screening_number = screening_number(person.site.code, numbers[person.site.pk])
    allocated = sorted(
        (p for p in people if p.randomized_at is not None and p.randomized_at <= ctx.cutoff),
        key=lambda p: (p.randomized_at, p.ordinal),
    )
    plan.counters |= {(pk, "screening"): number for pk, number in numbers.items()}
    subjects = {site.pk: _counter(site, "subject") for site in ctx.sites}
    needed: dict[str, int] = {}
    for person in allocated:
        subjects[person.site.pk] += 1
        person.subject_id = subject_identifier(person.site.code, subjects[person.site.pk])
        if person.in_cohort:
            continue
        rng = ctx.rng(person.ordinal, "strata")
        for factor in ctx.definition.stratification_factors:
            if factor.source != "site":
                person.strata_values[factor.code] = rng.choice(factor.levels)
        person.stratum = stratum_of(
            Participant(site=person.site), ctx.definition, person.strata_values
        )
        needed[person.stratum] = needed.get(person.stratum, 0) + 1
    plan.counters |= {(pk, "subject"): number for pk, number in subjects.items()}
    allocation = _allocation_list(ctx, needed)
    if allocation is None:
        return
    free: dict[str, list[AllocationSlot]] = {}
    for slot in AllocationSlot.objects.filter(
        allocation_list=allocation, participant__isnull=True
    ).order_by("stratum", "sequence"):
        free.setdefault(slot.stratum, []).append(slot)
    short = {s: n for s, n in needed.items() if len(free.get(s, [])) < n}
    if short:
        detail = ", ".join(f"{s}: {len(free.get(s, []))} free of {n}" for s, n in short.items())
        raise SyntheticError(
            f"The allocation list of {ctx.trial.code} has too few free slots ({detail}); "
            "generate fewer participants or use a trial without a list."
        )
    taken = {stratum: iter(slots) for stratum, slots in free.items()}
    for person in allocated:
        if person.in_cohort:
            continue
        slot = next(taken[person.stratum])
        person.slot_id = slot.pk
        person.randomization_number = slot.randomization_number
        person.arm_code = slot.arm_code

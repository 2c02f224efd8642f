"""Each synthetic participant's timeline, and the trial's: who is screened when, what becomes
of each, the dose-escalation cohorts one by one and then the randomized stage."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Max

from demo.synthetic.plan import (
    ACCRUAL_DAYS,
    ACCRUAL_ENDS_BEFORE,
    REVIEW_AFTER_DAYS,
    Event,
    ParticipantPlan,
    TrialContext,
    TrialPlan,
    VisitPlan,
    local_at,
    local_day,
)
from ecrf.site_time import local_date
from trials.models import Cohort, CohortStatus, Participant, SafetyReview, Site, Trial
from visits.schedule import visit_window


def _person(ctx: TrialContext, ordinal: int, site: Site, registered: date) -> tuple[str, date]:
    rng = ctx.rng(ordinal, "person")
    sex = "F" if rng.random() < 0.88 else "M"
    limits = ctx.definition.eligibility
    oldest = min(limits.max_age_years or 70, 70)
    age = rng.randint(max(limits.min_age_years or 18, 18) + 1, oldest - 1)
    born = registered - timedelta(days=int(age * 365.25) + rng.randint(0, 300))
    return sex, born


def _fail_code(ctx: TrialContext, rng: random.Random) -> str:
    """The criterion a screen failure fails: an inclusion not met or an exclusion applying."""
    eligibility = ctx.definition.eligibility
    codes = [c.code for c in (*eligibility.inclusion, *eligibility.exclusion)]
    # Inclusion 5 of both shipped protocols is the disease-activity threshold, the usual reason.
    return "IN05" if "IN05" in codes and rng.random() < 0.5 else rng.choice(codes)


def _plan_visits(ctx: TrialContext, plan: ParticipantPlan, rng: random.Random) -> list[VisitPlan]:
    """Attended dates for the schedule from Day 0; some late or early, some missed."""
    assert plan.day0 is not None
    visits: list[VisitPlan] = []
    previous = plan.day0 - timedelta(days=1)
    schedule = ctx.schedule
    # The participant's last visit is always attended, with or without an optional last one.
    last_required = max(i for i, spec in enumerate(schedule) if not spec.optional)
    for index, spec in enumerate(schedule):
        target = plan.day0 + timedelta(days=spec.day)
        visit = VisitPlan(spec=spec, target=target)
        visits.append(visit)
        final = index >= last_required
        if spec.dosing and spec.day == 0:
            visit.actual, visit.outcome = target, "attended"
        elif not spec.dosing and not final and rng.random() < ctx.mix.missed_visit:
            visit.outcome = "missed"
        else:
            offset = round(rng.triangular(-spec.window_before, spec.window_after, 0))
            if rng.random() < ctx.mix.out_of_window and not spec.dosing:
                offset = spec.window_after + rng.randint(1, 3)
                visit.out_of_window = True
            visit.actual = max(target + timedelta(days=offset), previous + timedelta(days=1))
            visit.outcome = "attended"
            window = visit_window(
                day0=plan.day0,
                day=spec.day,
                window_before=spec.window_before,
                window_after=spec.window_after,
                time_zone=plan.site.time_zone,
            )
            visit.out_of_window = not window.contains(visit.actual, plan.site.time_zone)
            previous = visit.actual
    return visits


def _close(plan: ParticipantPlan, visit: VisitPlan) -> date:
    spec = visit.spec
    assert plan.day0 is not None
    return plan.day0 + timedelta(days=spec.day + spec.window_after + 1)


def _plan_end(ctx: TrialContext, plan: ParticipantPlan, rng: random.Random) -> None:
    """Withdrawal, loss to follow-up or completion, and what it does to the later visits."""
    tz = plan.site.time_zone
    visits = plan.visits
    draw = rng.random()
    if draw < ctx.mix.withdraw and len(visits) > 2:
        stop = rng.randint(1, len(visits) - 1)
        last = visits[stop - 1]
        last_day = last.actual or last.target
        gap = max((visits[stop].target - last_day).days, 2)
        when = local_at(last_day + timedelta(days=rng.randint(1, gap - 1)), tz, 14)
        reason = rng.choice(
            (
                "Consent withdrawn by the participant",
                "Investigator decision: participant moved away",
                "Consent withdrawn: unwilling to attend further visits",
            )
        )
        plan.end = ("withdraw", when, reason)
        for visit in visits[stop:]:
            visit.outcome, visit.actual, visit.out_of_window = "skipped", None, False
    elif draw < ctx.mix.withdraw + ctx.mix.lost and len(visits) > 3:
        stop = rng.randint(1, len(visits) - 2)
        for visit in visits[stop : stop + 2]:
            visit.outcome, visit.actual, visit.out_of_window = "not_done", None, False
        when = local_at(_close(plan, visits[stop + 1]) + timedelta(days=14), tz, 15)
        plan.end = ("lost", when, "Lost to follow-up: no contact after three attempts")
        for visit in visits[stop + 2 :]:
            visit.outcome, visit.actual, visit.out_of_window = "skipped", None, False
    else:
        final = len(visits) - 1
        if visits[final].spec.optional and rng.random() < ctx.mix.decline_optional:
            visits[final].outcome, visits[final].actual = "skipped", None
            final -= 1
        last = visits[final]
        assert last.actual is not None, "the final visit is always attended"
        plan.end = ("complete", local_at(last.actual, tz, 15), "Study completed")
    # A missed visit of someone who has left by the cut-off is recorded as not done by the
    # site; one of a participant still on study is left for the visit job to flag.
    ended_in_time = plan.end is not None and plan.end[1] <= ctx.cutoff
    left_on = local_day(plan.end[1], plan.site) if plan.end is not None else None
    for visit in visits:
        if visit.outcome == "missed" and ended_in_time:
            visit.outcome = "not_done"
        if visit.outcome == "not_done" and left_on is not None and _close(plan, visit) > left_on:
            # Still in its window when the participant left: not a missed visit, just one
            # they no longer came to, like the visits after it.
            visit.outcome, visit.not_done_at = "skipped", None
            continue
        if visit.outcome == "not_done":
            visit.not_done_at = local_at(_close(plan, visit) + timedelta(days=2), tz, 10)
            if plan.end is not None and visit.not_done_at >= plan.end[1]:
                visit.not_done_at = plan.end[1] - timedelta(hours=1)


def _participant(
    ctx: TrialContext,
    ordinal: int,
    site: Site,
    registered: date,
    *,
    in_cohort: bool,
    screening_days: int | None = None,
) -> ParticipantPlan:
    rng = ctx.rng(ordinal, "timeline")
    tz = site.time_zone
    sex, born = _person(ctx, ordinal, site, registered)
    days = screening_days if screening_days is not None else rng.randint(7, 21)
    decided = registered + timedelta(days=days)
    plan = ParticipantPlan(
        ordinal=ordinal,
        site=site,
        sex=sex,
        date_of_birth=born,
        registered_at=local_at(registered, tz, 9, rng.randint(0, 120)),
        decided_at=local_at(decided, tz, 8),
        in_cohort=in_cohort,
    )
    if not in_cohort and rng.random() < ctx.mix.screen_fail:
        plan.fail_code = _fail_code(ctx, rng)
        return plan
    plan.randomized_at = local_at(decided, tz, 8, 40)
    lead = ctx.randomization_visit
    # With a randomization visit before Day 0 (within its window), Day 0 follows; without
    # one, randomization happens on the morning of Day 0.
    offset = rng.randint(1, max(1, lead.window_after)) if lead is not None else 0
    plan.day0 = decided + timedelta(days=offset)
    plan.visits = _plan_visits(ctx, plan, rng)
    _plan_end(ctx, plan, rng)
    return plan


def _site_for(ctx: TrialContext, ordinal: int) -> Site:
    return ctx.sites[ordinal % len(ctx.sites)]


@dataclass(frozen=True)
class _Pending:
    """A cohort still to fill or review, with the places left in it and, of the members an
    earlier run enrolled, the last registration day and the last Day 0."""

    cohort: Cohort
    places: int
    registered: date | None
    dosed: date | None


def _pending_cohorts(trial: Trial) -> list[_Pending]:
    """Cohorts still to fill or review, in order."""
    cohorts = (
        Cohort.objects.filter(
            trial=trial, status__in=[CohortStatus.OPEN, CohortStatus.FULL, CohortStatus.PLANNED]
        )
        .annotate(enrolled=Count("participants"))
        .order_by("order")
    )
    pending: list[_Pending] = []
    for cohort in cohorts:
        grown = sum(SafetyReview.objects.filter(cohort=cohort).values_list("expand_by", flat=True))
        places = 0 if cohort.status == CohortStatus.FULL else cohort.planned_n + grown
        members = Participant.objects.filter(cohort=cohort).select_related("site")
        pending.append(
            _Pending(
                cohort=cohort,
                places=max(places - cohort.enrolled, 0),  # type: ignore[attr-defined]
                registered=max(
                    (local_date(m.registered_at, m.site.time_zone) for m in members), default=None
                ),
                dosed=max((m.day0 for m in members if m.day0 is not None), default=None),
            )
        )
    return pending


def _after_reviews(ctx: TrialContext) -> date | None:
    """The day after the last safety review an earlier run recorded: nobody new is enrolled
    or randomized before a cohort's review has opened the next step."""
    last = SafetyReview.objects.filter(cohort__trial=ctx.trial).aggregate(Max("decided_at"))
    decided = last["decided_at__max"]
    if decided is None:
        return None
    return local_date(decided, ctx.sites[0].time_zone) + timedelta(days=1)


def plan_trial(ctx: TrialContext, *, first_ordinal: int, count: int) -> TrialPlan:
    """The timelines of `count` new participants, numbered from `first_ordinal`."""
    start = ctx.cutoff.date() - timedelta(days=ACCRUAL_DAYS)
    end = ctx.cutoff.date() - timedelta(days=ACCRUAL_ENDS_BEFORE)
    plans: list[ParticipantPlan] = []
    events: list[Event] = []
    ordinal = first_ordinal
    # An appended run takes up the dose escalation where the earlier one left it.
    day = max(start, _after_reviews(ctx) or start)
    # Open-label dose escalation first: cohort by cohort, each reviewed before the next opens.
    for pending in _pending_cohorts(ctx.trial):
        cohort, places = pending.cohort, pending.places
        if pending.registered is not None:
            day = max(day, pending.registered + timedelta(days=3))
        members = []
        for index in range(places):
            if len(plans) >= count:
                break
            site = _site_for(ctx, ordinal)
            plan = _participant(
                ctx,
                ordinal,
                site,
                day + timedelta(days=3 * index),
                in_cohort=True,
                screening_days=10,
            )
            plan.cohort = cohort
            plans.append(plan)
            members.append(plan)
            ordinal += 1
        if len(members) < places:
            break
        dosed = [p.day0 for p in members if p.day0 is not None]
        if pending.dosed is not None:
            dosed.append(pending.dosed)
        last = max(dosed, default=day)
        review_day = last + timedelta(days=REVIEW_AFTER_DAYS)
        events.append(
            Event(
                at=local_at(review_day, ctx.sites[0].time_zone, 15),
                kind="review",
                actor="medical_monitor",
                data={
                    "cohort": cohort.code,
                    "rationale": f"No dose-limiting toxicity in {cohort.code}; escalate.",
                },
            )
        )
        day = review_day + timedelta(days=1)
    remaining = count - len(plans)
    first = max(day, start)
    span = max((end - first).days, 1)
    for index in range(remaining):
        rng = ctx.rng(ordinal, "accrual")
        registered = first + timedelta(days=int((index + rng.random()) * span / remaining))
        plans.append(
            _participant(ctx, ordinal, _site_for(ctx, ordinal), registered, in_cohort=False)
        )
        ordinal += 1
    return TrialPlan(participants=plans, events=events)

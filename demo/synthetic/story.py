"""A participant's plan told as service calls: visits, forms, medication, events, corrections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from demo.synthetic import clinical
from demo.synthetic.medication import conmeds_at_screening, premedication, rescue, taper
from demo.synthetic.plan import Event, ParticipantPlan, TrialContext, VisitPlan, local_day
from demo.synthetic.safety_events import adverse_events
from demo.synthetic.timeline import Timeline

CORRECTION_REASONS = (
    "Transcription error corrected against the source document",
    "Corrected after source data verification",
    "Value corrected against the laboratory report",
)


class _Story(Timeline):
    """The whole story: screening, the visits from Day 0 with their forms, corrections, the end."""

    # Screening -------------------------------------------------------------------------------

    def screening(self) -> None:
        plan = self.plan
        start = plan.registered_at
        day = local_day(start, plan.site)
        self.add(start, "register")
        self.add(start + timedelta(minutes=5), "consent", data={"consent_date": day})
        spec = next(v for v in self.ctx.definition.visits if v.kind == "screening")
        self.add(start + timedelta(minutes=10), "visit", visit=spec.code, data={"actual_date": day})
        when = start + timedelta(minutes=15)
        conmeds_at_screening(self, when, spec.code, day)
        self.assessments(spec.code, spec.forms, day, -1, when + timedelta(minutes=10))
        if "medical_history" in spec.forms:
            self.form(
                when + timedelta(minutes=40),
                "medical_history",
                spec.code,
                clinical.medical_history_data(self.p, day, self.rng),
            )
        self.eligibility()

    def eligibility(self) -> None:
        plan = self.plan
        criteria = self.ctx.definition.eligibility
        answers = {c.code: True for c in criteria.inclusion}
        answers |= {c.code: False for c in criteria.exclusion}
        if plan.fail_code:
            answers[plan.fail_code] = not answers[plan.fail_code]
        self.add(plan.decided_at, "answers", data={"answers": answers})
        if plan.fail_code:
            what = "not met" if plan.fail_code.startswith("IN") else "applies"
            kind = "Inclusion" if plan.fail_code.startswith("IN") else "Exclusion"
            self.add(
                plan.decided_at + timedelta(minutes=30),
                "screen_fail",
                reason=f"{kind} {plan.fail_code} {what}",
            )
            return
        self.add(plan.decided_at + timedelta(minutes=20), "confirm", actor="investigator")
        assert plan.randomized_at is not None and plan.day0 is not None
        kind = "enrol" if plan.in_cohort else "randomize"
        self.add(plan.randomized_at, kind, data={"strata_values": plan.strata_values})
        self.add(plan.randomized_at + timedelta(minutes=10), "day0", data={"day0": plan.day0})

    # Assessments -----------------------------------------------------------------------------

    def assessments(
        self, visit: str, forms: tuple[str, ...], day: date, days_after: int, when: datetime
    ) -> None:
        p, rng = self.p, self.rng
        found = clinical.findings(p, days_after, rng)
        if "vitals" in forms and not self.dosing(visit):
            data = clinical.vitals_data(p, "visit", when, rng, weight=True)
            key = f"{visit}:visit"
            self.corrigible.append(
                self.form(when + timedelta(minutes=2), "vitals", visit, data, key=key)
            )
        if "labs" in forms:
            data = clinical.labs_data(p, day, found)
            self.corrigible.append(self.form(when + timedelta(minutes=5), "labs", visit, data))
        if "renal" in forms:
            data = clinical.renal_data(p, day, found, rng)
            event = self.form(when + timedelta(minutes=10), "renal", visit, data)
            # The screening assessment is the baseline: correcting it would move every response.
            if days_after >= 0:
                self.corrigible.append(event)
        if "sledai2k" in forms:
            data = clinical.sledai_data(p, day, found, days_after, self.window_days)
            self.corrigible.append(
                self.form(
                    when + timedelta(minutes=15), "sledai2k", visit, data, actor="investigator"
                )
            )
        if "pregnancy" in forms:
            data = clinical.pregnancy_data(p, day, screening=days_after < 0)
            self.form(when + timedelta(minutes=20), "pregnancy", visit, data)

    # Visits ----------------------------------------------------------------------------------

    def follow_up(self) -> None:
        plan, p = self.plan, self.p
        assert plan.day0 is not None
        attended = [v for v in plan.visits if v.outcome == "attended"]
        doses = clinical.prednisone_doses(p, len(attended), self.rng)
        current = float(p.pred0)
        rescued = False
        for visit in plan.visits:
            if visit.outcome == "not_done":
                self.not_done(visit)
                continue
            if visit.outcome != "attended":
                continue
            assert visit.actual is not None
            spec, day = visit.spec, visit.actual
            start = self.at(day, 9)
            self.add(start, "visit", visit=spec.code, data={"actual_date": day})
            days_after = (day - plan.day0).days
            if spec.dosing:
                premedication(self, start + timedelta(minutes=5), spec.code, day)
            elif "conmed" in spec.forms:
                current = taper(
                    self, start + timedelta(minutes=5), spec.code, day, doses.pop(0), current
                )
                if p.rescue and not rescued and days_after >= 84:
                    rescued = True
                    rescue(self, start + timedelta(minutes=8), spec.code, day)
            self.assessments(spec.code, spec.forms, day, days_after, start + timedelta(minutes=10))
            if spec.dosing and "infusion" in spec.forms:
                self.infusion(spec.code, day)
            self.visit_deviation(visit)
        adverse_events(self, attended)

    def not_done(self, visit: VisitPlan) -> None:
        assert visit.not_done_at is not None and self.plan.day0 is not None
        reason = self.rng.choice(
            (
                "Participant did not attend",
                "Participant unreachable before the window closed",
                "Participant admitted to another hospital",
            )
        )
        spec = visit.spec
        self.add(visit.not_done_at, "not_done", visit=spec.code, reason=reason)
        closes = self.plan.day0 + timedelta(days=spec.day + spec.window_after)
        self.form(
            visit.not_done_at + timedelta(minutes=5),
            "deviation",
            spec.code,
            {
                "occurred_on": closes,
                "category": "missed_visit",
                "description": f"Visit {spec.code} ({spec.name}) was not done: {reason}.",
                "severity": "minor",
                "state": "confirmed",
            },
            key=self.key("dv"),
        )

    def visit_deviation(self, visit: VisitPlan) -> None:
        """The draft a visit out of its window raises is reviewed at the next visit."""
        if not visit.out_of_window:
            return
        later = [
            v
            for v in self.plan.visits
            if v.outcome == "attended" and v.actual and visit.actual and v.actual > visit.actual
        ]
        if not later or self.rng.random() < 0.2:
            return
        assert later[0].actual is not None
        when = self.at(later[0].actual, 13, 30)
        key = f"auto:visit_window:{visit.spec.code}"
        if self.rng.random() < 0.85:
            data = {"state": "confirmed", "severity": "minor"}
            reason = "Deviation reviewed and confirmed"
        else:
            data = {"state": "dismissed", "resolution_note": "Visit date agreed with the sponsor"}
            reason = "Deviation reviewed and dismissed"
        self.form(when, "deviation", visit.spec.code, data, key=key, reason=reason)

    def infusion(self, visit: str, day: date) -> None:
        p, rng, plan = self.p, self.rng, self.plan
        pre = self.at(day, 9, 40)
        vitals = clinical.vitals_data(p, "pre_dose", pre, rng, weight=True)
        self.form(pre + timedelta(minutes=5), "vitals", visit, vitals, key=f"{visit}:pre_dose")
        start = self.at(day, 10)
        for minutes, timepoint in ((15, "15min"), (30, "30min"), (60, "60min"), (120, "2h")):
            measured = start + timedelta(minutes=minutes)
            data = clinical.vitals_data(p, timepoint, measured, rng, weight=False)
            self.form(
                measured + timedelta(minutes=5), "vitals", visit, data, key=f"{visit}:{timepoint}"
            )
        weight = vitals["weight_kg"]
        interrupted = rng.random() < 0.03
        dosing = self.ctx.definition.dosing
        self.form(
            self.at(day, 12, 15),
            "infusion",
            visit,
            {
                "weight_kg": weight,
                "weight_date": day,
                "given": True,
                "volume_ml": clinical.dec(dosing.volume_ml + rng.choice((0, 0, -2, 2)), 1),
                "start_time": start,
                "stop_time": start + timedelta(minutes=rng.randint(40, 70)),
                "interrupted": interrupted,
                "interruption_details": "Paused ten minutes for flushing, resumed at a lower rate"
                if interrupted
                else "",
                # The paracetamol of the medication log; SpO2 without a draw, so that the
                # random sequence of the other values stays as it was.
                "premedication_given": True,
                "premedication_details": "Paracetamol 1 g orally before the infusion",
                "spo2_pre_pct": 96 + plan.ordinal % 3,
                "spo2_during_pct": 95 + plan.ordinal % 3,
                "spo2_post_pct": 96 + (plan.ordinal + 1) % 3,
            },
        )
        placebo = bool(plan.arm_code) and (
            self.ctx.definition.arm(plan.arm_code).type == "placebo_comparator"
        )
        if plan.cohort is not None:
            per_kg = plan.cohort.dose_cells_per_kg
        else:
            per_kg = dosing.cells_per_kg or 2.0e6
        target = float(weight) * per_kg / 1e6
        factor = rng.uniform(1.12, 1.2) if rng.random() < 0.03 else rng.uniform(0.94, 1.06)
        self.form(
            self.at(day, 12, 30),
            "infusion",
            visit,
            {
                "kit_number": f"K{plan.ordinal:05d}{visit}",
                "product_lot": f"L{day:%y%m}-{rng.randint(1, 40):02d}",
                "cell_count_1e6": Decimal(0) if placebo else clinical.dec(target * factor, 2),
                "viability_pct": clinical.dec(rng.uniform(84, 97), 1),
                "release_checks_passed": True,
                **product_trace(self.ctx.definition.code, plan.ordinal, visit, day, self.at),
            },
            actor="pharmacist",
            reason="Product record entered by the pharmacy",
        )
        if rng.random() < 0.05:
            self.form(
                self.at(day, 12, 45),
                "adverse_events",
                visit,
                {
                    "verbatim_term": "Infusion-related reaction",
                    "onset_date": day.isoformat(),
                    "end_date": day.isoformat(),
                    "ongoing": False,
                    "ctcae_grade": 1,
                    "investigator_causality": "probable",
                    "action_taken": "none",
                    "outcome": "recovered",
                    "special_interest": True,
                    "aesi_category": "infusion_reaction",
                },
                key=self.key("ae"),
                actor="investigator",
            )

    # Corrections and the end -----------------------------------------------------------------

    def corrections(self) -> None:
        rng = self.rng
        for entered in self.corrigible:
            if rng.random() >= self.ctx.mix.correction:
                continue
            later = entered.at + timedelta(days=rng.randint(7, 40), hours=rng.randint(0, 5))
            reason = rng.choice(CORRECTION_REASONS)
            form = entered.form
            if form == "labs":
                data: dict[str, Any] = {"wbc_value": clinical.dec(rng.uniform(3.8, 8.2), 2)}
            elif form == "vitals":
                data = {"heart_rate": rng.randint(58, 96)}
            elif form == "renal":
                data = {"urine_wbc_hpf": clinical.dec(rng.uniform(0, 12), 1)}
            elif entered.data.get("alop"):
                data = {"alop": False}
                reason = "Alopecia not seen at the visit; removed after source data verification"
            else:
                data = {"alop": True}
                reason = "Alopecia found on examination; added after source data verification"
            self.form(
                later,
                form,
                entered.visit,
                data,
                key=entered.key,
                actor=entered.actor,
                reason=reason,
            )

    def finish(self) -> None:
        plan = self.plan
        if plan.end is None:
            return
        kind, when, reason = plan.end
        self.add(when, kind, reason=reason)
        attended = [v for v in plan.visits if v.outcome == "attended" and v.actual is not None]
        last = attended[-1]
        assert last.actual is not None
        status = {"complete": "completed", "withdraw": "withdrawn", "lost": "lost_to_follow_up"}
        data: dict[str, Any] = {
            "status": status[kind],
            "last_contact_date": last.actual if kind != "withdraw" else local_day(when, plan.site),
        }
        if kind != "complete":
            data["reason"] = reason
        visit = last.spec.code if kind == "complete" else ""
        self.form(when + timedelta(minutes=10), "end_of_study", visit, data)


def participant_events(ctx: TrialContext, plan: ParticipantPlan) -> list[Event]:
    """Every service call of the participant up to the cut-off, in time order."""
    story = _Story(ctx, plan)
    story.screening()
    if plan.day0 is not None:
        story.follow_up()
    story.corrections()
    story.finish()
    events = sorted(story.events, key=lambda event: event.at)
    kept: list[Event] = []
    for event in events:
        # Two calls never share an instant, so the audit trail orders them as they happened.
        if kept and event.at <= kept[-1].at:
            event.at = kept[-1].at + timedelta(seconds=1)
        if event.at > ctx.cutoff:
            break
        kept.append(event)
    for event in kept:
        if event.form and event.form not in story.known:
            raise ValueError(f"{event.form} is not a form type")
    return kept


def product_trace(
    trial: str, ordinal: int, visit: str, day: date, at: Callable[..., datetime]
) -> dict[str, Any]:
    """Bag, donor code, release results and chain of custody of one infusion: received the day
    before, thawed 30 minutes and dispensed 15 minutes before the 10:00 start. Drawn from
    nothing random, so that the other values of the story stay as they were."""
    return {
        "bag_id": f"{trial}-{ordinal:04d}-{visit}",
        "donor_code": f"DN-{1000 + ordinal % 7:04d}",
        "sterility_result": "negative",
        "endotoxin_eu_per_ml": Decimal("0.05") * (1 + ordinal % 4),
        "mycoplasma_result": "negative",
        "received_at": at(day - timedelta(days=1), 15, 30),
        "received_by": "Cell-therapy unit pharmacist",
        "storage_acceptable": True,
        "thawed_at": at(day, 9, 30),
        "dispensed_at": at(day, 9, 45),
    }

"""A participant's plan told as service calls: visits, forms, medication, events, corrections."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from assessments.registry import form_types
from demo.synthetic import clinical
from demo.synthetic.plan import Event, ParticipantPlan, TrialContext, VisitPlan, local_at, local_day

# (term, grade, AESI category or "", investigator causality), for events reported at visits.
ADVERSE_EVENTS = (
    ("Headache", 1, "", "unlikely"),
    ("Nausea", 1, "", "unlikely"),
    ("Fatigue", 1, "", "not_related"),
    ("Upper respiratory tract infection", 1, "infection", "not_related"),
    ("Urinary tract infection", 2, "infection", "not_related"),
    ("Herpes zoster", 2, "infection", "unlikely"),
    ("Diarrhoea", 1, "", "not_related"),
    ("Hypertension", 2, "", "not_related"),
    ("Peripheral oedema", 1, "", "not_related"),
    ("Arthralgia", 1, "", "not_related"),
    ("Insomnia", 1, "", "not_related"),
)
# (term, AESI category, causality, expectedness) of serious events.
SERIOUS_EVENTS = (
    ("Pneumonia", "infection", "unlikely", "expected"),
    ("Cellulitis", "infection", "not_related", "expected"),
    ("Lupus nephritis flare", "", "not_related", "expected"),
    ("Deep vein thrombosis", "thromboembolism", "possible", "unexpected"),
)
ANTIBIOTIC = ("Amoxicillin/clavulanic acid", Decimal(875), "mg", "oral", "bid")
CORRECTION_REASONS = (
    "Transcription error corrected against the source document",
    "Corrected after source data verification",
    "Value corrected against the laboratory report",
)


class _Story:
    def __init__(self, ctx: TrialContext, plan: ParticipantPlan) -> None:
        self.ctx, self.plan = ctx, plan
        self.rng = ctx.rng(plan.ordinal, "clinical")
        self.tz = plan.site.time_zone
        self.events: list[Event] = []
        self.numbers: dict[str, int] = defaultdict(int)
        self.known = set(form_types())
        parameters = ctx.definition.parameters
        window = parameters.get("sledai_window_days")
        self.window_days = int(window.value) if window is not None else 10
        fails = ""
        if plan.fail_code == "IN05":
            fails = "sledai" if "sledai_min_at_selection" in parameters else "upcr"
        elif plan.fail_code == "EX01" and "egfr_min_at_screening" in parameters:
            fails = "egfr"
        arm = ctx.definition.arm(plan.arm_code) if plan.arm_code else None
        self.p = clinical.profile(
            self.rng,
            sex=plan.sex,
            date_of_birth=plan.date_of_birth,
            site_index=ctx.sites.index(plan.site),
            fails=fails,
            arm_active=arm is None or arm.type != "placebo_comparator",
            rescue_rate=ctx.mix.rescue,
        )
        self.prednisone = ""
        self.corrigible: list[Event] = []

    def add(self, at: datetime, kind: str, **fields: Any) -> Event:
        event = Event(at=at, kind=kind, **fields)
        self.events.append(event)
        return event

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return local_at(day, self.tz, hour, minute)

    def key(self, prefix: str) -> str:
        self.numbers[prefix] += 1
        return f"{prefix}:{self.numbers[prefix]}"

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
        self.conmeds_at_screening(when, spec.code, day)
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

    # Forms -----------------------------------------------------------------------------------

    def form(
        self,
        at: datetime,
        form: str,
        visit: str,
        data: dict[str, Any],
        *,
        key: str = "",
        actor: str = "coordinator",
        reason: str = "",
    ) -> Event:
        return self.add(
            at, "form", form=form, visit=visit, key=key, data=data, actor=actor, reason=reason
        )

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

    def dosing(self, visit: str) -> bool:
        return self.ctx.definition.visit(visit).dosing

    # Medication ------------------------------------------------------------------------------

    def conmed(self, at: datetime, visit: str, data: dict[str, Any]) -> str:
        key = self.key("cm")
        self.form(at, "conmed", visit, data, key=key)
        return key

    def conmeds_at_screening(self, at: datetime, visit: str, day: date) -> None:
        rng = self.rng
        started = day - timedelta(days=rng.randint(5, 40))
        self.prednisone = self.prednisone_start(at, visit, started, self.p.pred0)
        years = rng.randint(1, 8)
        self.conmed(
            at + timedelta(minutes=1),
            visit,
            {
                "medication": "Hydroxychloroquine",
                "category": "antimalarial",
                "dose": Decimal(200),
                "dose_unit": "mg",
                "route": "oral",
                "frequency": "daily",
                "indication": "Systemic lupus erythematosus",
                "start_date": f"{day.year - years}",
                "ongoing": True,
            },
        )
        self.conmed(
            at + timedelta(minutes=2),
            visit,
            {
                "medication": "Mycophenolate mofetil",
                "category": "immunosuppressant",
                "dose": Decimal(1000),
                "dose_unit": "mg",
                "route": "oral",
                "frequency": "bid",
                "indication": "Lupus nephritis",
                "start_date": f"{started - timedelta(days=rng.randint(30, 300)):%Y-%m}",
                "ongoing": True,
            },
        )
        if rng.random() < 0.7:
            self.conmed(
                at + timedelta(minutes=3),
                visit,
                {
                    "medication": "Ramipril",
                    "category": "ace_arb",
                    "dose": Decimal(5),
                    "dose_unit": "mg",
                    "route": "oral",
                    "frequency": "daily",
                    "indication": "Proteinuria",
                    "start_date": f"{started - timedelta(days=rng.randint(60, 900)):%Y-%m}",
                    "ongoing": True,
                },
            )

    def prednisone_start(self, at: datetime, visit: str, day: date, dose: float) -> str:
        return self.conmed(
            at,
            visit,
            {
                "medication": "Prednisone",
                "category": "glucocorticoid",
                "dose": clinical.amount(dose),
                "dose_unit": "mg",
                "route": "oral",
                "frequency": "daily",
                "indication": "Lupus nephritis",
                "start_date": day.isoformat(),
                "ongoing": True,
            },
        )

    def taper(self, at: datetime, visit: str, day: date, dose: float, current: float) -> float:
        """Stop the current prednisone dose the day before and start the new one."""
        if dose == current:
            return current
        self.form(
            at,
            "conmed",
            visit,
            {"end_date": (day - timedelta(days=1)).isoformat(), "ongoing": False},
            key=self.prednisone,
            reason=f"Dose changed: prednisone tapered to {clinical.amount(dose)} mg/day",
        )
        self.prednisone = self.prednisone_start(at + timedelta(minutes=1), visit, day, dose)
        return dose

    def premedication(self, at: datetime, visit: str, day: date) -> None:
        self.conmed(
            at,
            visit,
            {
                "medication": "Paracetamol",
                "category": "other",
                "dose": Decimal(1),
                "dose_unit": "g",
                "route": "oral",
                "frequency": "once",
                "indication": "Premedication before the study infusion",
                "start_date": day.isoformat(),
                "end_date": day.isoformat(),
                "ongoing": False,
            },
        )

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
                self.premedication(start + timedelta(minutes=5), spec.code, day)
            elif "conmed" in spec.forms:
                current = self.taper(
                    start + timedelta(minutes=5), spec.code, day, doses.pop(0), current
                )
                if p.rescue and not rescued and days_after >= 84:
                    rescued = True
                    self.rescue(start + timedelta(minutes=8), spec.code, day)
            self.assessments(spec.code, spec.forms, day, days_after, start + timedelta(minutes=10))
            if spec.dosing and "infusion" in spec.forms:
                self.infusion(spec.code, day)
            self.visit_deviation(visit)
        self.adverse_events(attended)

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

    def rescue(self, at: datetime, visit: str, day: date) -> None:
        self.conmed(
            at,
            visit,
            {
                "medication": "Rituximab",
                "category": "rescue",
                "dose": Decimal(1000),
                "dose_unit": "mg",
                "route": "intravenous",
                "frequency": "once",
                "indication": "Refractory lupus nephritis",
                "start_date": day.isoformat(),
                "end_date": day.isoformat(),
                "ongoing": False,
                "given_as_rescue": True,
            },
        )

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

    # Adverse events --------------------------------------------------------------------------

    def adverse_events(self, attended: list[VisitPlan]) -> None:
        rng, plan = self.rng, self.plan
        assert plan.day0 is not None
        follow = [v for v in attended if v.actual is not None and v.actual > plan.day0]
        if not follow:
            return
        count = sum(rng.random() < self.ctx.mix.adverse_events / 4 for _ in range(4))
        for _ in range(count):
            report = rng.choice(follow)
            assert report.actual is not None
            onset = report.actual - timedelta(days=rng.randint(1, 20))
            onset = max(onset, plan.day0 + timedelta(days=1))
            self.adverse_event(onset, report, follow)
        if rng.random() < self.ctx.mix.serious * 2 and follow[-1].actual is not None:
            span = (follow[-1].actual - plan.day0).days
            self.serious_event(plan.day0 + timedelta(days=rng.randint(2, max(span, 2))))

    def adverse_event(self, onset: date, report: VisitPlan, follow: list[VisitPlan]) -> None:
        rng = self.rng
        term, grade, aesi, causality = rng.choice(ADVERSE_EVENTS)
        assert report.actual is not None
        ends = onset + timedelta(days=rng.randint(2, 25))
        resolved = ends < report.actual
        key = self.key("ae")
        data: dict[str, Any] = {
            "verbatim_term": term,
            "onset_date": f"{onset:%Y-%m}" if rng.random() < 0.05 else onset.isoformat(),
            "ongoing": not resolved,
            "ctcae_grade": grade,
            "investigator_causality": causality,
            "action_taken": "none",
            "outcome": "recovered" if resolved else "recovering",
            "special_interest": bool(aesi),
            "aesi_category": aesi,
        }
        if resolved:
            data["end_date"] = ends.isoformat()
        when = self.at(report.actual, 13)
        self.form(when, "adverse_events", report.spec.code, data, key=key, actor="investigator")
        if aesi == "infection":
            self.antibiotic(when + timedelta(minutes=2), report, onset)
        later = [v for v in follow if v.actual and v.actual > max(ends, report.actual)]
        if not resolved and later:
            assert later[0].actual is not None
            self.form(
                self.at(later[0].actual, 13, 10),
                "adverse_events",
                later[0].spec.code,
                {"end_date": ends.isoformat(), "ongoing": False, "outcome": "recovered"},
                key=key,
                actor="investigator",
                reason="Follow-up: event resolved",
            )

    def antibiotic(self, at: datetime, report: VisitPlan, onset: date) -> None:
        name, dose, unit, route, frequency = ANTIBIOTIC
        assert report.actual is not None
        ends = onset + timedelta(days=7)
        data: dict[str, Any] = {
            "medication": name,
            "category": "other",
            "dose": dose,
            "dose_unit": unit,
            "route": route,
            "frequency": frequency,
            "indication": "Infection",
            "start_date": onset.isoformat(),
            "ongoing": ends > report.actual,
        }
        if ends <= report.actual:
            data["end_date"] = ends.isoformat()
        self.conmed(at, report.spec.code, data)

    def serious_event(self, onset: date) -> None:
        rng = self.rng
        term, aesi, causality, expected = rng.choice(SERIOUS_EVENTS)
        aware = self.at(onset + timedelta(days=rng.randint(0, 2)), 10, rng.randint(0, 240))
        late = rng.random() < 0.1
        reported = aware + timedelta(hours=rng.randint(30, 40) if late else rng.randint(2, 20))
        key = self.key("ae")
        self.form(
            reported + timedelta(minutes=30),
            "adverse_events",
            "",
            {
                "verbatim_term": term,
                "onset_date": onset.isoformat(),
                "ongoing": True,
                "ctcae_grade": 3,
                "hospitalisation": True,
                "investigator_causality": causality,
                "action_taken": "none",
                "outcome": "recovering",
                "special_interest": bool(aesi),
                "aesi_category": aesi,
                "site_awareness_at": aware,
                "sae_reported_at": reported,
            },
            key=key,
            actor="investigator",
        )
        assessed = reported + timedelta(days=2)
        self.form(
            assessed,
            "adverse_events",
            "",
            {
                "sponsor_causality": causality,
                "expectedness": expected,
                "sponsor_awareness_at": reported,
            },
            key=key,
            actor="medical_monitor",
            reason="Sponsor assessment",
        )
        if expected == "unexpected":
            self.form(
                assessed + timedelta(days=5),
                "adverse_events",
                "",
                {"susar_reported_at": assessed + timedelta(days=4)},
                key=key,
                actor="medical_monitor",
                reason="SUSAR expedited report submitted",
            )
        ends = onset + timedelta(days=rng.randint(8, 20))
        self.form(
            self.at(ends + timedelta(days=3), 11),
            "adverse_events",
            "",
            {"end_date": ends.isoformat(), "ongoing": False, "outcome": "recovered"},
            key=key,
            actor="investigator",
            reason="Follow-up: event resolved",
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

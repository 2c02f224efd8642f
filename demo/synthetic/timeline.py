"""A participant's events as they are told: the clock, the record keys and the form entries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from casebook.catalogue import form_types
from demo.synthetic import clinical
from demo.synthetic.plan import Event, ParticipantPlan, TrialContext, local_at


class Timeline:
    """The participant's events so far and what telling the rest needs: the plan, its random
    stream, the clinical profile, the keys handed out and the entries open to correction."""

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

    def dosing(self, visit: str) -> bool:
        return self.ctx.definition.visit(visit).dosing

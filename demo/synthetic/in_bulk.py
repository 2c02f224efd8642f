"""Synthetic plans written in bulk: what each service would write is rebuilt in memory, form
values are checked and derived by the form types' own rules, and the rows and every version of
them go in with a few statements per chunk of participants."""

from __future__ import annotations

from demo.synthetic.bulk_forms import FormRows
from demo.synthetic.bulk_history import History
from demo.synthetic.bulk_people import PeopleRows
from demo.synthetic.plan import ParticipantPlan, TrialContext
from trials.models import CriterionKind, SiteCounter
from trials.services.randomization import randomized_stage


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
            self._write_chunk(plans[start : start + self.chunk_size])
        for (site_id, kind), value in counters.items():
            counter, _ = SiteCounter.objects.get_or_create(site_id=site_id, kind=kind)
            if counter.last_value < value:
                SiteCounter.objects.filter(pk=counter.pk).update(last_value=value)

    def _write_chunk(self, plans: list[ParticipantPlan]) -> None:
        """Participants and visits first: the forms refer to them."""
        history = History()
        people = PeopleRows(self.ctx, history, kinds=self.kinds, stage_code=self.stage_code)
        for plan in plans:
            people.people.append(people.lifecycle(plan))
        people.flush()
        FormRows(self.ctx, history, people.people).write()

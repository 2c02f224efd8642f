"""The casebook grid: a participant's visits by the forms each expects, with their state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from assessments.forms_kit import FormScope, FormType
from assessments.selectors import can_read, readable_with
from casebook.catalogue import form_types
from trials.access import user_roles
from trials.models import Participant
from visits.models import Visit


@dataclass(frozen=True)
class Cell:
    form_code: str
    status: str  # missing | entered | not_done | log | not_collected
    record_id: int | None = None
    count: int = 0


@dataclass(frozen=True)
class GridRow:
    visit: Visit
    cells: tuple[Cell, ...]


@dataclass
class _States:
    """What the participant's records say, per form: the state of each visit's once-per-visit
    (or once-per-participant) form, the records per visit of repeating forms, the length of
    each log, and whether consent and eligibility were recorded."""

    of_visit: dict[str, dict[int, tuple[str, int]]] = field(default_factory=dict)
    repeats: dict[str, dict[int, int]] = field(default_factory=dict)
    logs: dict[str, int] = field(default_factory=dict)
    trials_counts: dict[str, int] = field(default_factory=dict)


def readable_form_types(user: Any, participant: Participant) -> list[FormType]:
    return [ft for ft in form_types().values() if can_read(user, ft, participant)]


def casebook_grid(participant: Participant, *, user: Any = None) -> list[GridRow]:
    """Visits x expected forms with their state, in one query per form model, whatever the
    number of visits: visits (1), then one per visit-form model, one per log model, and the
    consent and eligibility counts (2)."""
    visits = list(Visit.objects.filter(participant=participant).order_by("visit_number"))
    types = form_types()
    if user is not None:
        # Forms the user may not read (efficacy forms for the pharmacist) are left out.
        roles = user_roles(user, participant.trial, participant.site)
        types = {code: ft for code, ft in types.items() if readable_with(roles, ft)}
        hidden = set(form_types()) - set(types)
        visits_forms = {
            visit.pk: [code for code in visit.forms if code not in hidden] for visit in visits
        }
    else:
        visits_forms = {visit.pk: list(visit.forms) for visit in visits}
    states = _states(participant, visits, types)
    return [
        GridRow(visit, tuple(_cell(code, visit, states) for code in visits_forms[visit.pk]))
        for visit in visits
    ]


def _states(participant: Participant, visits: list[Visit], types: dict[str, FormType]) -> _States:
    states = _States()
    for code, ftype in types.items():
        records = ftype.model.objects.filter(participant=participant)
        if ftype.scope == FormScope.REPEATING:
            states.repeats[code] = dict(
                records.values_list("visit_id").annotate(n=Count("pk")).values_list("visit_id", "n")
            )
        elif ftype.scope == FormScope.PARTICIPANT:
            state = records.values_list("entry_status", "pk").first()
            states.of_visit[code] = {visit.pk: state for visit in visits} if state else {}
        elif ftype.scope == FormScope.VISIT:
            states.of_visit[code] = {
                visit_id: (status, pk)
                for visit_id, status, pk in records.values_list("visit_id", "entry_status", "pk")
            }
        else:
            states.logs[code] = records.count()
    states.trials_counts = Participant.objects.filter(pk=participant.pk).aggregate(
        consents=Count("consents", distinct=True),
        answers=Count("eligibility_answers", distinct=True),
    )
    return states


def _cell(code: str, visit: Visit, states: _States) -> Cell:
    if code in states.of_visit:
        state = states.of_visit[code].get(visit.pk)
        return Cell(code, state[0] if state else "missing", state[1] if state else None)
    if code in states.repeats:
        count = states.repeats[code].get(visit.pk, 0)
        return Cell(code, "entered" if count else "missing", count=count)
    if code in states.logs:
        return Cell(code, "log", count=states.logs[code])
    # Forms of the trials app, recorded on the participant.
    if code == "consent":
        return Cell(code, "entered" if states.trials_counts["consents"] else "missing")
    if code == "eligibility":
        return Cell(code, "entered" if states.trials_counts["answers"] else "missing")
    if code == "demographics":
        return Cell(code, "entered")
    return Cell(code, "not_collected")

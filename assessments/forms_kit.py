"""What a case report form type is: its model, scope, fields, editors and pure rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from ecrf.access import SITE_STAFF_ROLES

Rule = Callable[..., None]


class FormScope(models.TextChoices):
    """How often a form is entered."""

    VISIT = "visit", "Once per visit"
    # Several per visit, e.g. vital signs at the infusion's timepoints.
    REPEATING = "repeating", "Several per visit"
    LOG = "log", "A running list per participant"
    PARTICIPANT = "participant", "Once per participant"


# The scopes whose forms are entered at a visit, and those of which a participant has many.
AT_A_VISIT = frozenset({FormScope.VISIT, FormScope.REPEATING})
MANY_RECORDS = frozenset({FormScope.LOG, FormScope.REPEATING})


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def _no_explanation(instance: Any) -> str:
    return ""


def _nothing_missing(instance: Any) -> list[str]:
    return []


def _no_suggestion(visit: Any, records: Any = None) -> str:
    return ""


def _no_initial(definition: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class FormType:
    code: str
    label: str
    model: Any
    scope: FormScope
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    date_fields: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    revealing: tuple[str, ...] = field(default=())
    editors: frozenset[str] = SITE_STAFF_ROLES
    # Fields only some roles may enter (e.g. sponsor causality by the medical monitor);
    # every other field needs one of `editors`.
    field_editors: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Efficacy forms are never shown to the pharmacist, who is unblinded.
    efficacy: bool = False
    # Pure rules, which read but never write. validate(instance, ctx, checks) adds errors and
    # warnings; derive(instance, ctx) sets the derived fields from the inputs;
    # explain(instance) says which rule produced them. What a save changes elsewhere is
    # called by name by the form services.
    validate: Rule = _nothing
    derive: Rule = _nothing
    explain: Callable[[Any], str] = _no_explanation
    # ready_to_sign(instance) names what an entered record still lacks before the investigator
    # may sign it or a data manager lock it ("the CTCAE grade"); nothing when it is ready.
    ready_to_sign: Callable[[Any], list[str]] = _nothing_missing
    # after_save(instance, before=…, actor=…, now=…) runs in the saving transaction once the
    # record is saved; `before` holds the derived values the record had (empty when new). Side
    # effects it starts (e-mail) wait for the commit.
    after_save: Rule = _nothing
    # suggest(visit, records=None) says what the visit's other forms suggest entering here
    # (read-only); `records`, as in the rules' context, finds those forms in memory.
    suggest: Callable[..., str] = _no_suggestion
    # initial(definition) gives the values a new record starts with, as the protocol sets them.
    initial: Callable[[Any], dict[str, Any]] = _no_initial
    fieldsets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The model's constraints that `validate` checks itself, with its own message: the form
    # service runs it with the participant's row locked, which every save of the
    # participant's forms takes first, so the save does not validate them again (the
    # database still enforces them).
    checked_constraints: frozenset[str] = frozenset()

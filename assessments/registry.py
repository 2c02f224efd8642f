"""The form types the casebook knows: their model, fields, editors, checks and derivations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecrf.access import SITE_STAFF_ROLES
from ecrf.errors import NotFoundError

Rule = Callable[..., None]


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


@dataclass(frozen=True)
class FormType:
    code: str
    label: str
    model: Any
    # "visit": once per visit; "repeating": several per visit (e.g. vital signs at infusion
    # timepoints); "log": a running list per participant; "participant": once per participant.
    scope: str
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
    # validate(instance, ctx, checks) adds errors and warnings; derive(instance, ctx) sets
    # the derived fields from the inputs; explain(instance) says which rule produced them.
    validate: Rule = _nothing
    derive: Rule = _nothing
    explain: Callable[[Any], str] = lambda instance: ""
    # after_save(instance, ctx, actor=..., now=...) updates what depends on this form, in the
    # same transaction (e.g. later renal responses when the baseline changes).
    after_save: Rule = _nothing
    fieldsets: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _form_types() -> dict[str, FormType]:
    from assessments.rules.conmed import CONMED
    from assessments.rules.deviation import DEVIATION
    from assessments.rules.end_of_study import END_OF_STUDY
    from assessments.rules.infusion import INFUSION
    from assessments.rules.labs import LABS
    from assessments.rules.medical_history import MEDICAL_HISTORY
    from assessments.rules.pregnancy import PREGNANCY
    from assessments.rules.renal import RENAL
    from assessments.rules.sledai import SLEDAI
    from assessments.rules.vitals import VITALS
    from safety.rules import ADVERSE_EVENTS

    return {
        form_type.code: form_type
        for form_type in (
            MEDICAL_HISTORY,
            SLEDAI,
            RENAL,
            LABS,
            VITALS,
            PREGNANCY,
            INFUSION,
            CONMED,
            ADVERSE_EVENTS,
            DEVIATION,
            END_OF_STUDY,
        )
    }


_TYPES: dict[str, FormType] | None = None


def form_types() -> dict[str, FormType]:
    global _TYPES
    if _TYPES is None:
        _TYPES = _form_types()
    return _TYPES


def form_type(code: str) -> FormType:
    found = form_types().get(code)
    if found is None:
        raise NotFoundError(f"There is no form {code!r}.")
    return found

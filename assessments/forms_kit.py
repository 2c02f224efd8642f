"""What a case report form type is: its model, scope, fields, editors and pure rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from ecrf.access import SITE_STAFF_ROLES
from ecrf.errors import NotFoundError

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
    fieldsets: tuple[tuple[str, tuple[str, ...]], ...] = ()


# The catalogue of every form type, handed down at start-up by the app that assembles it
# (it holds forms of apps above this one, such as the adverse event form), so that the form
# services find a form by the code their callers name.
_installed: dict[str, FormType] = {}


def form_types_install(form_types: Iterable[FormType]) -> None:
    """Make `form_types` the forms the form services know by code."""
    _installed.clear()
    _installed.update({ftype.code: ftype for ftype in form_types})


def form_type_of(code: str) -> FormType:
    """The installed form type with this code."""
    found = _installed.get(code)
    if found is None:
        raise NotFoundError(f"There is no form {code!r}.")
    return found

"""The form types the casebook knows: their model, fields, editors, checks and derivations."""

from __future__ import annotations

from collections.abc import Callable
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
    scope: str  # "visit": once per visit; "log": a running list per participant
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    date_fields: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    revealing: tuple[str, ...] = field(default=())
    editors: frozenset[str] = SITE_STAFF_ROLES
    # validate(instance, ctx, checks) adds errors and warnings; derive(instance, ctx) sets
    # the derived fields from the inputs; explain(instance) says which rule produced them.
    validate: Rule = _nothing
    derive: Rule = _nothing
    explain: Callable[[Any], str] = lambda instance: ""
    fieldsets: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _form_types() -> dict[str, FormType]:
    from assessments.rules.sledai import SLEDAI

    return {form_type.code: form_type for form_type in (SLEDAI,)}


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

"""The form types the casebook knows: their model, fields, editors, checks and derivations."""

from __future__ import annotations

from assessments.forms_kit import FormType
from ecrf.errors import NotFoundError


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

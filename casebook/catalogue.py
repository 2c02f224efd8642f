"""The catalogue of every case report form type, in the order the casebook shows them."""

from __future__ import annotations

from assessments.forms_kit import FormType
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
from ecrf.errors import NotFoundError
from safety.pregnancy import PREGNANCY_REPORT
from safety.rules import ADVERSE_EVENTS

CATALOGUE: tuple[FormType, ...] = (
    MEDICAL_HISTORY,
    SLEDAI,
    RENAL,
    LABS,
    VITALS,
    PREGNANCY,
    INFUSION,
    CONMED,
    ADVERSE_EVENTS,
    PREGNANCY_REPORT,
    DEVIATION,
    END_OF_STUDY,
)
_BY_CODE = {ftype.code: ftype for ftype in CATALOGUE}


def form_types() -> dict[str, FormType]:
    """Every form type by its code, in the catalogue's order."""
    return dict(_BY_CODE)


def form_type(code: str) -> FormType:
    found = _BY_CODE.get(code)
    if found is None:
        raise NotFoundError(f"There is no form {code!r}.")
    return found

"""Medical history: SLE diagnosis, classification and the qualifying kidney biopsy."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import MedicalHistory
from assessments.rules.base import Checks, FormContext
from assessments.rules.common import (
    add_months,
    check_partial_date,
    check_past_date,
    coerce,
    whole_months_between,
)
from ecrf.access import SITE_STAFF_ROLES
from ecrf.messages import Text

FIELDS: tuple[str, ...] = (
    "sle_diagnosis_date",
    "classification",
    "ln_biopsy_date",
    "isn_rps_class",
    "relapse",
)
# Protocol parameters for the biopsy look-back, most specific first. Trial A allows 6 months
# before selection, 12 for a relapse; trial B 12 months before screening.
RELAPSE_LOOKBACK = "biopsy_max_months_before_selection_recurrence"
LOOKBACKS = ("biopsy_max_months_before_selection", "biopsy_max_months_before_screening")


def biopsy_lookback_months(ctx: FormContext, relapse: bool | None) -> int | None:
    names = (RELAPSE_LOOKBACK, *LOOKBACKS) if relapse else LOOKBACKS
    for name in names:
        parameter = ctx.definition.parameters.get(name)
        if parameter is not None:
            return int(parameter.value)
    return None


def selection_date(ctx: FormContext) -> date:
    """The day of the selection visit: as recorded, else its target, else today."""
    visit = ctx.visit
    if visit is not None and visit.actual_date is not None:
        return visit.actual_date
    if visit is not None and visit.target_date is not None:
        return visit.target_date
    return ctx.today


def validate(instance: MedicalHistory, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, FIELDS, ctx, checks):
        return
    diagnosis = check_partial_date(instance, "sle_diagnosis_date", ctx, checks)
    check_past_date(instance, "ln_biopsy_date", ctx, checks)
    biopsy = instance.ln_biopsy_date
    if checks.errors or biopsy is None:
        return
    if diagnosis is not None and biopsy < diagnosis[0]:
        checks.warn(
            "ln_biopsy_date",
            Text(
                gettext_noop(
                    "The biopsy (%(biopsy)s) precedes the SLE diagnosis (%(diagnosis)s); please "
                    "confirm both dates."
                ),
                biopsy=biopsy.isoformat(),
                diagnosis=str(instance.sle_diagnosis_date),
            ),
        )
    limit = biopsy_lookback_months(ctx, instance.relapse)
    reference = selection_date(ctx)
    if limit is not None and biopsy < add_months(reference, -limit):
        too_old = (
            gettext_noop(
                "The biopsy (%(biopsy)s) is %(months)s months before selection (%(selection)s); "
                "the protocol accepts at most %(limit)s months for a relapse."
            )
            if instance.relapse
            else gettext_noop(
                "The biopsy (%(biopsy)s) is %(months)s months before selection (%(selection)s); "
                "the protocol accepts at most %(limit)s months."
            )
        )
        checks.warn(
            "ln_biopsy_date",
            Text(
                too_old,
                biopsy=biopsy.isoformat(),
                months=whole_months_between(biopsy, reference),
                selection=reference.isoformat(),
                limit=limit,
            ),
        )


def derive(instance: MedicalHistory, ctx: FormContext) -> None:
    biopsy = instance.ln_biopsy_date
    reference = selection_date(ctx)
    instance.biopsy_months_before_selection = (
        whole_months_between(biopsy, reference) if biopsy is not None else None
    )


def explain(instance: MedicalHistory) -> str:
    if instance.biopsy_months_before_selection is None:
        return ""
    # Read on the page in the reader's language; nothing stores or exports this sentence.
    return gettext(
        "Biopsy %(months)s completed months before the selection visit (its recorded date, "
        "else its target date)."
    ) % {"months": instance.biopsy_months_before_selection}


MEDICAL_HISTORY = FormType(
    code="medical_history",
    label=gettext_noop("Medical history"),
    model=MedicalHistory,
    scope=FormScope.VISIT,
    fields=FIELDS,
    required=FIELDS,
    date_fields=("ln_biopsy_date",),
    derived=("biopsy_months_before_selection",),
    editors=SITE_STAFF_ROLES,
    validate=validate,
    derive=derive,
    explain=explain,
    fieldsets=(
        ("SLE", ("sle_diagnosis_date", "classification")),
        ("Lupus nephritis", ("ln_biopsy_date", "isn_rps_class", "relapse")),
    ),
)

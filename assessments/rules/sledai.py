"""SLEDAI-2K: checks on the items and the score derived on the server."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models.sledai import (
    SLEDAI_ITEM_FIELDS,
    SledaiAssessment,
    attributable_field,
    days_before_field,
    item_field,
)
from assessments.rules.base import Checks, FormContext, check_dates
from assessments.rules.sledai_labs import contradictions, suggestion, visit_proposals
from assessments.scoring import ScoringInputError
from assessments.scoring.sledai import DEFAULT_WINDOW_DAYS, DescriptorInput, score_sledai2k
from assessments.scoring.sledai_descriptors import DESCRIPTORS
from ecrf.messages import Text


def _inputs(instance: SledaiAssessment) -> list[DescriptorInput]:
    items = []
    for descriptor in DESCRIPTORS:
        items.append(
            DescriptorInput(
                code=descriptor.code,
                present=bool(getattr(instance, item_field(descriptor.code))),
                attributable_to_sle=(
                    getattr(instance, attributable_field(descriptor.code))
                    if descriptor.has_exclusion
                    else None
                ),
                days_before_visit=getattr(instance, days_before_field(descriptor.code)),
            )
        )
    return items


def protocol_window(definition: Any) -> int:
    """The SLEDAI-2K look-back window the protocol sets (`sledai_window_days`), else 10."""
    parameter = definition.parameters.get("sledai_window_days")
    return DEFAULT_WINDOW_DAYS if parameter is None else int(parameter.value)


def validate(instance: SledaiAssessment, ctx: FormContext, checks: Checks) -> None:
    check_dates(instance, ("assessment_date",), ctx, checks)
    window = protocol_window(ctx.definition)
    if instance.window_days != window:
        checks.error(
            "window_days",
            gettext(
                "The protocol scores SLEDAI-2K over a %(window)s-day look-back window, not "
                "%(days)s days."
            )
            % {"window": window, "days": instance.window_days},
        )
        return
    for descriptor in DESCRIPTORS:
        present = getattr(instance, item_field(descriptor.code))
        days = getattr(instance, days_before_field(descriptor.code))
        if days is not None and days > instance.window_days:
            checks.warn(
                days_before_field(descriptor.code),
                Text(
                    gettext_noop(
                        "%(item)s was %(days)s days before the visit, outside the %(window)s-day "
                        "window: it does not score."
                    ),
                    item=Text(descriptor.label),
                    days=days,
                    window=instance.window_days,
                ),
            )
        if days is not None and not present:
            checks.error(
                days_before_field(descriptor.code), gettext("Only give days for a present item.")
            )
        if descriptor.has_exclusion and present:
            attributable = getattr(instance, attributable_field(descriptor.code))
            if attributable is None:
                checks.error(
                    attributable_field(descriptor.code),
                    gettext("Say whether %(item)s is attributable to SLE.")
                    % {"item": gettext(descriptor.label).lower()},
                )
            elif attributable is False:
                checks.warn(
                    attributable_field(descriptor.code),
                    Text(
                        gettext_noop("%(item)s is not attributable to SLE: it does not score."),
                        item=Text(descriptor.label),
                    ),
                )
    if not checks.errors:
        try:
            score_sledai2k(_inputs(instance), window_days=instance.window_days)
        except ScoringInputError as error:
            checks.error(error.field, error.message)
    for name, message in contradictions(instance, visit_proposals(ctx.visit, ctx.records)):
        checks.warn(name, message)


def derive(instance: SledaiAssessment, ctx: FormContext) -> None:
    result = score_sledai2k(_inputs(instance), window_days=instance.window_days)
    instance.total = result.total
    instance.clinical_total = result.clinical_total
    instance.contributions = [{"code": c.code, "weight": c.weight} for c in result.contributions]
    instance.calculator = result.calculator
    instance.calculator_version = result.version


def explain(instance: SledaiAssessment) -> str:
    if instance.total is None:
        return ""
    # Read on the page in the reader's language; nothing stores or exports this sentence.
    parts = " + ".join(f"{c['code']} {c['weight']}" for c in instance.contributions)
    return gettext("%(calculator)s %(version)s, %(days)s-day window: %(parts)s = %(total)s") % {
        "calculator": instance.calculator,
        "version": instance.calculator_version,
        "days": instance.window_days,
        "parts": parts or gettext("no item"),
        "total": instance.total,
    }


def _fieldsets() -> tuple[tuple[str, tuple[str, ...]], ...]:
    groups: dict[str, list[str]] = {}
    for descriptor in DESCRIPTORS:
        names = [item_field(descriptor.code)]
        if descriptor.has_exclusion:
            names.append(attributable_field(descriptor.code))
        names.append(days_before_field(descriptor.code))
        groups.setdefault(descriptor.category.capitalize(), []).extend(names)
    return (
        ("Assessment", ("assessment_date", "window_days")),
        *((title, tuple(names)) for title, names in groups.items()),
    )


SLEDAI = FormType(
    code="sledai2k",
    efficacy=True,
    label=gettext_noop("SLEDAI-2K"),
    model=SledaiAssessment,
    scope=FormScope.VISIT,
    fields=("assessment_date", "window_days", *SLEDAI_ITEM_FIELDS),
    initial=lambda definition: {"window_days": protocol_window(definition)},
    required=("assessment_date", "window_days"),
    date_fields=("assessment_date",),
    derived=("total", "clinical_total"),
    validate=validate,
    derive=derive,
    explain=explain,
    suggest=suggestion,
    fieldsets=_fieldsets(),
)

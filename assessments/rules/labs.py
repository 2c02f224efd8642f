"""Laboratory tests: units, normal ranges, plausibility, and the L/N/H flag from each range."""

from __future__ import annotations

from decimal import Decimal

from assessments.forms_kit import FormScope, FormType
from assessments.models import LabResults
from assessments.models.labs import (
    ANALYTES,
    ANALYTES_BY_CODE,
    LAB_FLAG_FIELDS,
    LAB_INPUT_FIELDS,
    Analyte,
    RangeFlag,
    flag_field,
    lln_field,
    uln_field,
    unit_field,
    value_field,
)
from assessments.rules.base import Checks, FormContext, check_dates
from assessments.rules.common import coerce, show
from ecrf.access import SITE_STAFF_ROLES


def range_flag(value: Decimal | None, lln: Decimal | None, uln: Decimal | None) -> str:
    """L, N or H against the lab's own range (LBNRIND); empty without a value or a range."""
    if value is None or (lln is None and uln is None):
        return ""
    if lln is not None and value < lln:
        return RangeFlag.LOW
    if uln is not None and value > uln:
        return RangeFlag.HIGH
    return RangeFlag.NORMAL


def _check_analyte(instance: LabResults, analyte: Analyte, checks: Checks) -> None:
    value = getattr(instance, value_field(analyte.code))
    unit = getattr(instance, unit_field(analyte.code))
    lln = getattr(instance, lln_field(analyte.code))
    uln = getattr(instance, uln_field(analyte.code))
    for name, number in ((value_field(analyte.code), value), (lln_field(analyte.code), lln)):
        if number is not None and number < 0:
            checks.error(name, f"{analyte.label} cannot be negative.")
    if uln is not None and uln < 0:
        checks.error(uln_field(analyte.code), f"{analyte.label} cannot be negative.")
    if lln is not None and uln is not None and lln > uln:
        checks.error(
            lln_field(analyte.code),
            f"The lower limit of normal ({show(lln)}) is above the upper limit ({show(uln)}).",
        )
    if value is not None and not unit:
        checks.error(unit_field(analyte.code), f"Give the unit of {analyte.label}.")
    if (lln is not None or uln is not None) and value is None:
        checks.warn(value_field(analyte.code), "A normal range is given without a result.")
    if value is None or not unit or checks.errors.get(value_field(analyte.code)):
        return
    canonical = value * analyte.units[unit]
    low, high = analyte.plausible
    if not low <= canonical <= high:
        checks.warn(
            value_field(analyte.code),
            f"{analyte.label} {show(value)} {unit} is unusual (expected {show(low)} to "
            f"{show(high)} {analyte.canonical}); please confirm the value and its unit.",
        )


def validate(instance: LabResults, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, ("sample_date", *LAB_INPUT_FIELDS), ctx, checks):
        return
    check_dates(instance, ("sample_date",), ctx, checks)
    if all(getattr(instance, value_field(analyte.code)) is None for analyte in ANALYTES):
        checks.error(value_field(ANALYTES[0].code), "Enter at least one result.")
    for analyte in ANALYTES:
        _check_analyte(instance, analyte, checks)
    if checks.errors:
        return
    wbc = instance.wbc_value
    differential = [instance.neutrophils_value, instance.lymphocytes_value]
    if (
        wbc is not None
        and all(part is not None for part in differential)
        and sum(differential) > wbc
    ):
        checks.warn(
            "neutrophils_value",
            "Neutrophils plus lymphocytes exceed the white cell count; please confirm.",
        )


def derive(instance: LabResults, ctx: FormContext) -> None:
    for analyte in ANALYTES:
        setattr(
            instance,
            flag_field(analyte.code),
            range_flag(
                getattr(instance, value_field(analyte.code)),
                getattr(instance, lln_field(analyte.code)),
                getattr(instance, uln_field(analyte.code)),
            ),
        )


def explain(instance: LabResults) -> str:
    flagged = []
    for analyte in ANALYTES:
        flag = getattr(instance, flag_field(analyte.code))
        if flag in (RangeFlag.LOW, RangeFlag.HIGH):
            value = getattr(instance, value_field(analyte.code))
            limit_name = "LLN" if flag == RangeFlag.LOW else "ULN"
            limit = getattr(
                instance,
                lln_field(analyte.code) if flag == RangeFlag.LOW else uln_field(analyte.code),
            )
            sign = "<" if flag == RangeFlag.LOW else ">"
            flagged.append(
                f"{analyte.label} {show(value)} {sign} {limit_name} {show(limit)}: {flag}"
            )
    summary = "; ".join(flagged) if flagged else "no result outside its range"
    return f"Flags compare each result with the lab's own normal range (L/N/H): {summary}."


def _fieldsets() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (
        ("Sample", ("sample_date",)),
        *(
            (
                analyte.label,
                (
                    value_field(analyte.code),
                    unit_field(analyte.code),
                    lln_field(analyte.code),
                    uln_field(analyte.code),
                ),
            )
            for analyte in ANALYTES_BY_CODE.values()
        ),
    )


LABS = FormType(
    code="labs",
    label="Laboratory tests",
    model=LabResults,
    scope=FormScope.VISIT,
    fields=("sample_date", *LAB_INPUT_FIELDS),
    required=("sample_date",),
    date_fields=("sample_date",),
    derived=LAB_FLAG_FIELDS,
    editors=SITE_STAFF_ROLES,
    efficacy=True,
    validate=validate,
    derive=derive,
    explain=explain,
    fieldsets=_fieldsets(),
)

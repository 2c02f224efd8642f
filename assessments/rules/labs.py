"""Laboratory tests: units, normal ranges, plausibility, the L/N/H flag from each range, and the
qualitative results (ANA titre, viral serology, TB test, anti-HLA antibodies)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import LabResults
from assessments.models.labs import (
    ANA_DILUTIONS,
    ANA_PLAUSIBLE_MAX,
    ANALYTES,
    ANALYTES_BY_CODE,
    HLA_MFI_PLAUSIBLE_MAX,
    HLA_MFI_POSSIBLE_MAX,
    LAB_FLAG_FIELDS,
    LAB_INPUT_FIELDS,
    QUALITATIVE_FIELDS,
    SEROLOGY_FIELDS,
    Analyte,
    BinaryResult,
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
from ecrf.messages import Text, decimal_text


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
    label = gettext(analyte.label)
    negative = gettext("%(analyte)s cannot be negative.") % {"analyte": label}
    for name, number in ((value_field(analyte.code), value), (lln_field(analyte.code), lln)):
        if number is not None and number < 0:
            checks.error(name, negative)
    if uln is not None and uln < 0:
        checks.error(uln_field(analyte.code), negative)
    if lln is not None and uln is not None and lln > uln:
        checks.error(
            lln_field(analyte.code),
            gettext("The lower limit of normal (%(lln)s) is above the upper limit (%(uln)s).")
            % {"lln": decimal_text(show(lln)), "uln": decimal_text(show(uln))},
        )
    if value is not None and not unit:
        checks.error(
            unit_field(analyte.code),
            gettext("Give the unit of %(analyte)s.") % {"analyte": label},
        )
    if (lln is not None or uln is not None) and value is None:
        checks.warn(
            value_field(analyte.code),
            Text(gettext_noop("A normal range is given without a result.")),
        )
    if value is None or not unit or checks.errors.get(value_field(analyte.code)):
        return
    canonical = value * analyte.units[unit]
    if analyte.possible is not None:
        least, most = analyte.possible
        if not least <= canonical <= most:
            checks.error(
                value_field(analyte.code),
                gettext(
                    "%(analyte)s %(value)s %(unit)s is impossible (a result lies between %(low)s "
                    "and %(high)s %(canonical)s); check the value and its unit."
                )
                % {
                    "analyte": label,
                    "value": decimal_text(show(value)),
                    "unit": unit,
                    "low": decimal_text(show(least)),
                    "high": decimal_text(show(most)),
                    "canonical": analyte.canonical,
                },
            )
            return
    low, high = analyte.plausible
    if not low <= canonical <= high:
        checks.warn(
            value_field(analyte.code),
            Text(
                gettext_noop(
                    "%(analyte)s %(value)s %(unit)s is unusual (expected %(low)s to %(high)s "
                    "%(canonical)s); please confirm the value and its unit."
                ),
                analyte=Text(analyte.label),
                value=value,
                unit=unit,
                low=low,
                high=high,
                canonical=analyte.canonical,
            ),
        )


def titre_text(denominator: int) -> str:
    """A titre as a person reads it: 160 is 1:160."""
    return f"1:{denominator}"


def _check_ana(instance: LabResults, checks: Checks) -> None:
    result, titre = instance.ana_result, instance.ana_titre
    if titre is not None and titre not in ANA_DILUTIONS:
        shown = ", ".join(titre_text(step) for step in ANA_DILUTIONS[:6])
        checks.error(
            "ana_titre",
            gettext(
                "%(titre)s is not a dilution of the two-fold series (%(series)s ...); give the "
                "titre as the lab reported it."
            )
            % {"titre": titre_text(titre), "series": shown},
        )
        return
    if result == BinaryResult.NEGATIVE and titre is not None:
        checks.error("ana_titre", gettext("A negative ANA has no titre; leave the titre empty."))
    elif result == BinaryResult.POSITIVE and titre is None:
        checks.error("ana_titre", gettext("Give the titre of the positive ANA (1:N)."))
    elif not result and titre is not None:
        checks.error("ana_result", gettext("Say whether the ANA was positive."))
    elif titre is not None and titre > ANA_PLAUSIBLE_MAX:
        checks.warn(
            "ana_titre",
            Text(
                gettext_noop(
                    "An ANA titre of %(titre)s is unusual (expected up to %(limit)s); please "
                    "confirm."
                ),
                titre=titre_text(titre),
                limit=titre_text(ANA_PLAUSIBLE_MAX),
            ),
        )


def _check_tb(instance: LabResults, checks: Checks) -> None:
    if instance.tb_result and not instance.tb_method:
        checks.error(
            "tb_method", gettext("Say which tuberculosis test (IGRA or PPD) gave the result.")
        )
    elif instance.tb_method and not instance.tb_result:
        checks.error("tb_result", gettext("Give the result of the tuberculosis test."))


def _check_anti_hla(instance: LabResults, checks: Checks) -> None:
    result, mfi, dsa = instance.anti_hla_result, instance.anti_hla_mfi, instance.anti_hla_dsa
    if not result and (mfi is not None or dsa is not None):
        checks.error("anti_hla_result", gettext("Say whether anti-HLA antibodies were found."))
    if result == BinaryResult.NEGATIVE and dsa:
        checks.error(
            "anti_hla_dsa",
            gettext("Anti-HLA antibodies are negative, so none can be donor-specific."),
        )
    if mfi is not None and mfi > HLA_MFI_POSSIBLE_MAX:
        checks.error(
            "anti_hla_mfi",
            gettext("An MFI of %(mfi)s is impossible (at most %(limit)s); check the value.")
            % {"mfi": decimal_text(str(mfi)), "limit": HLA_MFI_POSSIBLE_MAX},
        )
    elif mfi is not None and mfi > HLA_MFI_PLAUSIBLE_MAX:
        checks.warn(
            "anti_hla_mfi",
            Text(
                gettext_noop(
                    "An MFI of %(mfi)s is unusual (expected up to %(limit)s); please confirm."
                ),
                mfi=mfi,
                limit=HLA_MFI_PLAUSIBLE_MAX,
            ),
        )


def validate(instance: LabResults, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, ("sample_date", *LAB_INPUT_FIELDS), ctx, checks):
        return
    check_dates(instance, ("sample_date",), ctx, checks)
    if all(getattr(instance, value_field(analyte.code)) is None for analyte in ANALYTES) and all(
        getattr(instance, name) in (None, "") for name in QUALITATIVE_FIELDS
    ):
        checks.error(value_field(ANALYTES[0].code), gettext("Enter at least one result."))
    for analyte in ANALYTES:
        _check_analyte(instance, analyte, checks)
    _check_ana(instance, checks)
    _check_tb(instance, checks)
    _check_anti_hla(instance, checks)
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
            Text(
                gettext_noop(
                    "Neutrophils plus lymphocytes exceed the white cell count; please confirm."
                )
            ),
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
                f"{gettext(analyte.label)} {show(value)} {sign} {limit_name} {show(limit)}: {flag}"
            )
    # Read on the page in the reader's language; nothing stores or exports this sentence.
    summary = "; ".join(flagged) if flagged else gettext("no result outside its range")
    return gettext(
        "Flags compare each result with the lab's own normal range (L/N/H): %(summary)s."
    ) % {"summary": summary}


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
        ("Antinuclear antibodies", ("ana_result", "ana_titre")),
        ("Viral serology", tuple(name for name, _label in SEROLOGY_FIELDS)),
        ("Tuberculosis", ("tb_method", "tb_result")),
        ("Anti-HLA antibodies", ("anti_hla_result", "anti_hla_mfi", "anti_hla_dsa")),
    )


LABS = FormType(
    code="labs",
    label=gettext_noop("Laboratory tests"),
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

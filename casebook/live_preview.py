"""The live preview of a form being entered: its edit checks and derived values as a reader
sees them, with labels, units, clinical precision and the rule's explanation in sentences."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assessments.forms_kit import FormType
from assessments.models.sledai import item_field
from assessments.rules.renal import RENAL
from assessments.rules.sledai import SLEDAI
from assessments.selectors import display_value
from assessments.services import FormPreview
from ecrf.messages import warning_shown

# The response categories of the renal rule sets, as a clinician names them.
RESPONSE_CATEGORIES = {
    "CRR": gettext_lazy("complete renal response"),
    "PRR": gettext_lazy("partial renal response"),
    "PERR": gettext_lazy("primary efficacy renal response"),
    "CR": gettext_lazy("complete response"),
    "PR": gettext_lazy("partial response"),
    "NR": gettext_lazy("no renal response"),
}


@dataclass(frozen=True)
class Shown:
    """One derived value: its label, the value as printed, its unit and how it was reached."""

    label: str
    value: Any
    unit: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Message:
    label: str
    text: str


@dataclass(frozen=True)
class LivePreview:
    errors: list[Message]
    warnings: list[Message]
    values: list[Shown]
    contributions: list[Shown]
    explanation: list[str]


def _places(value: Decimal | None, places: str) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places))


def _label(ftype: FormType, name: str) -> str:
    try:
        return str(ftype.model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a message about the whole form names no field
        return ""


def _sledai(record: Any) -> tuple[list[Shown], list[Shown]]:
    values = [
        Shown(_("SLEDAI-2K total"), record.total, _("points")),
        Shown(
            _("Clinical SLEDAI-2K (without laboratory items)"), record.clinical_total, _("points")
        ),
    ]
    contributions = [
        Shown(_label(SLEDAI, item_field(item["code"])), f"+{item['weight']}", _("points"))
        for item in record.contributions or []
    ]
    return values, contributions


def _renal(record: Any) -> list[Shown]:
    values = [
        Shown(_("UPCR"), _places(record.upcr_g_g, "0.01"), "g/g"),
        Shown(_("Serum creatinine"), _places(record.creatinine_mg_dl, "0.01"), "mg/dL"),
        Shown(
            _("eGFR"),
            record.egfr,
            "mL/min/1.73 m²",
            _("%(equation)s, age %(age)s years")
            % {"equation": record.egfr_equation, "age": record.age_years},
        ),
    ]
    category = record.response_category
    if category:
        detail = _("week %(week)s against the baseline of %(day)s") % {
            "week": record.response_week,
            "day": f"{record.response_baseline_date:%Y-%m-%d}",
        }
        if record.response_provisional:
            detail = _("%(detail)s; provisional") % {"detail": detail}
        values.append(
            Shown(_("Renal response"), str(RESPONSE_CATEGORIES.get(category, category)), "", detail)
        )
    return values


def live_preview(
    ftype: FormType, preview: FormPreview, *, hidden: set[str], entered: set[str]
) -> LivePreview:
    """What the panel beside the form shows. Values of `hidden` fields (those that could
    reveal an arm) are never shown, nor a message about one the user did not enter, nor the
    values or explanation of a form that has such fields."""

    def messages(items: list[tuple[str, str]]) -> list[Message]:
        return [
            Message(_label(ftype, name), text)
            for name, text in items
            if name not in hidden or name in entered
        ]

    errors = messages([(name, text) for name, texts in preview.errors.items() for text in texts])
    warnings = messages([(w["field"], warning_shown(w)) for w in preview.warnings])
    if preview.errors:
        return LivePreview(errors, warnings, [], [], [])
    record = preview.record
    contributions: list[Shown] = []
    if ftype.code == SLEDAI.code:
        values, contributions = _sledai(record)
    elif ftype.code == RENAL.code:
        values = _renal(record)
    elif hidden:
        # On a form with fields that reveal the arm, even a calculator's name is left out.
        values = []
    else:
        values = [
            Shown(_label(ftype, name), display_value(getattr(record, name)))
            for name in ftype.derived
        ]
    explanation = [] if hidden else [line for line in ftype.explain(record).splitlines() if line]
    return LivePreview(errors, warnings, values, contributions, explanation)

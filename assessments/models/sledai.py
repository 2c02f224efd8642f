"""The SLEDAI-2K form: 24 descriptors as entered, and the score the server derives from them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import VisitForm
from assessments.scoring.sledai_descriptors import DESCRIPTORS


def item_field(code: str) -> str:
    return code.lower()


def attributable_field(code: str) -> str:
    return f"{code.lower()}_sle"


def days_before_field(code: str) -> str:
    return f"{code.lower()}_days_before"


def _item_columns() -> dict[str, Any]:
    # One column per descriptor keeps each item's history readable as "old -> new".
    columns: dict[str, Any] = {}
    for descriptor in DESCRIPTORS:
        columns[item_field(descriptor.code)] = models.BooleanField(descriptor.label, default=False)
        if descriptor.has_exclusion:
            columns[attributable_field(descriptor.code)] = models.BooleanField(
                f"{descriptor.label}: attributable to SLE", null=True, blank=True
            )
        columns[days_before_field(descriptor.code)] = models.PositiveSmallIntegerField(
            f"{descriptor.label}: days before the visit", null=True, blank=True
        )
    return columns


SLEDAI_ITEM_FIELDS: tuple[str, ...] = tuple(_item_columns())


class _Meta(VisitForm.Meta):
    verbose_name = _("SLEDAI-2K")


# Built with type() so the item columns exist when the class is created, which is when the
# history model copies its fields.
SledaiAssessment: Any = type(
    "SledaiAssessment",
    (VisitForm,),
    {
        "__module__": __name__,
        "__doc__": "A SLEDAI-2K assessment at a visit.",
        "Meta": _Meta,
        # Inputs are nullable: a form marked not done stores none; edit checks require them.
        "assessment_date": models.DateField(_("assessment date"), null=True, blank=True),
        "window_days": models.PositiveSmallIntegerField(
            _("look-back window (days)"), choices=[(10, "10"), (30, "30")], default=10
        ),
        **_item_columns(),
        # Derived by the server from the items; never typed by hand.
        "total": models.PositiveSmallIntegerField(null=True, blank=True, editable=False),
        "clinical_total": models.PositiveSmallIntegerField(null=True, blank=True, editable=False),
        "contributions": models.JSONField(default=list, blank=True, editable=False),
        "calculator": models.CharField(max_length=40, blank=True, editable=False),
        "calculator_version": models.CharField(max_length=20, blank=True, editable=False),
    },
)

"""Laboratory tests: blood counts, complement and anti-dsDNA, each with the lab's own range."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import VisitForm


@dataclass(frozen=True)
class Analyte:
    """One test; `units` maps each accepted unit to its factor into `canonical` (multiply)."""

    code: str
    label: str
    canonical: str
    units: dict[str, Decimal]
    # Values outside this range (canonical unit) are possible but rare enough to confirm.
    plausible: tuple[Decimal, Decimal]


CELLS = {"10^9/L": Decimal(1), "10^3/uL": Decimal(1)}

ANALYTES: tuple[Analyte, ...] = (
    Analyte(
        "haemoglobin",
        "Haemoglobin",
        "g/dL",
        # 1 mmol/L of haemoglobin (monomer, Fe) weighs 1.611 g/dL.
        {"g/dL": Decimal(1), "g/L": Decimal("0.1"), "mmol/L": Decimal("1.611")},
        (Decimal(5), Decimal(20)),
    ),
    Analyte("wbc", "White blood cells", "10^9/L", CELLS, (Decimal("0.5"), Decimal(50))),
    Analyte("neutrophils", "Neutrophils", "10^9/L", CELLS, (Decimal("0.1"), Decimal(40))),
    Analyte("lymphocytes", "Lymphocytes", "10^9/L", CELLS, (Decimal("0.05"), Decimal(20))),
    Analyte("platelets", "Platelets", "10^9/L", CELLS, (Decimal(10), Decimal(1000))),
    Analyte(
        "c3",
        "C3",
        "g/L",
        {"g/L": Decimal(1), "mg/dL": Decimal("0.01")},
        (Decimal("0.1"), Decimal(3)),
    ),
    Analyte(
        "c4",
        "C4",
        "g/L",
        {"g/L": Decimal(1), "mg/dL": Decimal("0.01")},
        (Decimal("0.01"), Decimal(1)),
    ),
    Analyte(
        "anti_dsdna",
        "Anti-dsDNA",
        "IU/mL",
        {"IU/mL": Decimal(1), "U/mL": Decimal(1)},
        (Decimal(0), Decimal(5000)),
    ),
)
ANALYTES_BY_CODE = {analyte.code: analyte for analyte in ANALYTES}


class RangeFlag(models.TextChoices):
    LOW = "L", _("Below the normal range")
    NORMAL = "N", _("Within the normal range")
    HIGH = "H", _("Above the normal range")


def value_field(code: str) -> str:
    return f"{code}_value"


def unit_field(code: str) -> str:
    return f"{code}_unit"


def lln_field(code: str) -> str:
    return f"{code}_lln"


def uln_field(code: str) -> str:
    return f"{code}_uln"


def flag_field(code: str) -> str:
    return f"{code}_flag"


def _number(label: str) -> models.DecimalField:
    return models.DecimalField(label, max_digits=12, decimal_places=4, null=True, blank=True)


def _analyte_columns() -> dict[str, Any]:
    # Value, unit and range side by side per test: the history reads "old -> new" per column.
    columns: dict[str, Any] = {}
    for analyte in ANALYTES:
        columns[value_field(analyte.code)] = _number(analyte.label)
        columns[unit_field(analyte.code)] = models.CharField(
            f"{analyte.label}: unit",
            max_length=10,
            choices=[(unit, unit) for unit in analyte.units],
            blank=True,
        )
        columns[lln_field(analyte.code)] = _number(f"{analyte.label}: lower limit of normal")
        columns[uln_field(analyte.code)] = _number(f"{analyte.label}: upper limit of normal")
    return columns


def _flag_columns() -> dict[str, Any]:
    return {
        flag_field(analyte.code): models.CharField(
            max_length=1, choices=RangeFlag.choices, blank=True, editable=False
        )
        for analyte in ANALYTES
    }


LAB_INPUT_FIELDS: tuple[str, ...] = tuple(_analyte_columns())
LAB_FLAG_FIELDS: tuple[str, ...] = tuple(_flag_columns())


class _Meta(VisitForm.Meta):
    verbose_name = _("laboratory tests")
    verbose_name_plural = _("laboratory tests")


# Built with type() so the analyte columns exist when the class is created, which is when the
# history model copies its fields.
LabResults: Any = type(
    "LabResults",
    (VisitForm,),
    {
        "__module__": __name__,
        "__doc__": "Blood counts, complement and anti-dsDNA at a visit, with their normal ranges.",
        "Meta": _Meta,
        "sample_date": models.DateField(_("sample date"), null=True, blank=True),
        **_analyte_columns(),
        **_flag_columns(),
    },
)

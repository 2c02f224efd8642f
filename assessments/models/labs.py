"""Laboratory tests: blood counts, complement, antibodies, albumin and 24-hour proteinuria, each
with the lab's own range; ANA titre, viral serology, TB test and anti-HLA antibodies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import VisitForm
from assessments.scoring.units import ALBUMIN_FACTORS, PROTEINURIA_FACTORS


@dataclass(frozen=True)
class Analyte:
    """One test; `units` maps each accepted unit to its factor into `canonical` (multiply)."""

    code: str
    label: str
    canonical: str
    units: dict[str, Decimal]
    # Values outside this range (canonical unit) are possible but rare enough to confirm.
    plausible: tuple[Decimal, Decimal]
    # Values outside this range (canonical unit) cannot be a result and are refused.
    possible: tuple[Decimal, Decimal] | None = None


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
    Analyte(
        "ch50",
        "CH50",
        "U/mL",
        # 1 U/mL is 1 kU/L.
        {"U/mL": Decimal(1), "kU/L": Decimal(1)},
        (Decimal(1), Decimal(300)),
        (Decimal(0), Decimal(2000)),
    ),
    Analyte(
        "albumin",
        "Serum albumin",
        "g/dL",
        dict(ALBUMIN_FACTORS),
        (Decimal("1.5"), Decimal("5.5")),
        (Decimal("0.1"), Decimal(10)),
    ),
    Analyte(
        "proteinuria_24h",
        "24-hour proteinuria",
        "g/day",
        dict(PROTEINURIA_FACTORS),
        (Decimal(0), Decimal(20)),
        (Decimal(0), Decimal(100)),
    ),
)
ANALYTES_BY_CODE = {analyte.code: analyte for analyte in ANALYTES}


class RangeFlag(models.TextChoices):
    LOW = "L", _("Below the normal range")
    NORMAL = "N", _("Within the normal range")
    HIGH = "H", _("Above the normal range")


class SerologyResult(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")
    INDETERMINATE = "indeterminate", _("Indeterminate")


class BinaryResult(models.TextChoices):
    """ANA and anti-HLA antibodies: found or not (no indeterminate reading)."""

    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")


class TbMethod(models.TextChoices):
    IGRA = "igra", _("Interferon-gamma release assay (IGRA, e.g. QuantiFERON)")
    PPD = "ppd", _("Tuberculin skin test (PPD)")


# ANA titres are read on a two-fold dilution series; the titre is stored as its denominator N
# of 1:N.
ANA_DILUTIONS: tuple[int, ...] = tuple(10 * 2**step for step in range(13))  # 1:10 .. 1:40960
ANA_PLAUSIBLE_MAX = 5120
HLA_MFI_PLAUSIBLE_MAX = 30000
HLA_MFI_POSSIBLE_MAX = 100000

# Qualitative results: (field, label), in the order they are shown and exported.
SEROLOGY_FIELDS: tuple[tuple[str, str], ...] = (
    ("hiv_result", "HIV-1/2 antibodies"),
    ("hbsag_result", "Hepatitis B surface antigen (HBsAg)"),
    ("anti_hbc_result", "Hepatitis B core antibodies (anti-HBc, IgM or total)"),
    ("hcv_result", "Hepatitis C antibodies"),
)


def _qualitative_columns() -> dict[str, Any]:
    columns: dict[str, Any] = {
        "ana_result": models.CharField(
            "ANA", max_length=10, choices=BinaryResult.choices, blank=True
        ),
        "ana_titre": models.PositiveIntegerField("ANA titre (N of 1:N)", null=True, blank=True),
    }
    for name, label in SEROLOGY_FIELDS:
        columns[name] = models.CharField(
            label, max_length=13, choices=SerologyResult.choices, blank=True
        )
    columns["tb_method"] = models.CharField(
        "Tuberculosis test", max_length=4, choices=TbMethod.choices, blank=True
    )
    columns["tb_result"] = models.CharField(
        "Tuberculosis test: result", max_length=13, choices=SerologyResult.choices, blank=True
    )
    columns["anti_hla_result"] = models.CharField(
        "Anti-HLA antibodies", max_length=10, choices=BinaryResult.choices, blank=True
    )
    columns["anti_hla_mfi"] = models.PositiveIntegerField(
        "Anti-HLA antibodies: highest MFI", null=True, blank=True
    )
    columns["anti_hla_dsa"] = models.BooleanField(
        "Anti-HLA antibodies: donor-specific", null=True, blank=True
    )
    return columns


QUALITATIVE_FIELDS: tuple[str, ...] = tuple(_qualitative_columns())


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


LAB_INPUT_FIELDS: tuple[str, ...] = (*_analyte_columns(), *QUALITATIVE_FIELDS)
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
        "__doc__": "A visit's laboratory results, with their normal ranges.",
        "Meta": _Meta,
        "sample_date": models.DateField(_("sample date"), null=True, blank=True),
        **_analyte_columns(),
        **_qualitative_columns(),
        **_flag_columns(),
    },
)

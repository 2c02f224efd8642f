"""ODM items, code lists and units made from model fields: data type, length, choices, unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

from assessments.models import PartialDateField


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    data_type: str  # "text" or "integer"
    # (coded value, decode), in the order the form offers them.
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Unit:
    oid: str
    symbol: str


@dataclass(frozen=True)
class Item:
    """One exported variable: where its value is read and how it is described and written."""

    oid: str
    name: str
    # The column of the history row holding the value.
    column: str
    label: str
    # How a stored value is written: text, integer, float, date, datetime, boolean,
    # partialDate or json.
    kind: str
    data_type: str
    length: int | None = None
    digits: int | None = None
    codelist: CodeList | None = None
    unit: Unit | None = None
    mandatory: bool = False
    origin: str = "CRF"
    # For a form whose rows each fill other items (eligibility: one row per criterion), the
    # value of the row's pivot column this item belongs to.
    pivot: str = ""
    # Read through a mapping rather than written as stored: "cohort" (id -> code) or "arm"
    # (the participant's arm, once randomized).
    lookup: str = ""


NY = CodeList("CL.NY", "No / Yes", "text", (("N", "No"), ("Y", "Yes")))

UNITS: dict[str, Unit] = {
    unit.oid: unit
    for unit in (
        Unit("MU.KG", "kg"),
        Unit("MU.ML", "mL"),
        Unit("MU.MMHG", "mmHg"),
        Unit("MU.BEATS_MIN", "beats/min"),
        Unit("MU.BREATHS_MIN", "breaths/min"),
        Unit("MU.CELSIUS", "°C"),
        Unit("MU.MILLION_CELLS", "10^6 cells"),
        Unit("MU.PERCENT", "%"),
        Unit("MU.CELLS_KG", "cells/kg"),
        Unit("MU.G_G", "g/g"),
        Unit("MU.MG_DL", "mg/dL"),
        Unit("MU.EGFR", "mL/min/1.73 m²"),
        Unit("MU.PER_HPF", "/hpf"),
        Unit("MU.MG_DAY", "mg/day"),
        Unit("MU.YEARS", "years"),
        Unit("MU.MONTHS", "months"),
        Unit("MU.DAYS", "days"),
    )
}

# Fields whose unit is fixed by the form; lab values carry their unit in a field of their own.
FIELD_UNITS: dict[tuple[str, str], str] = {
    ("vitals", "systolic"): "MU.MMHG",
    ("vitals", "diastolic"): "MU.MMHG",
    ("vitals", "heart_rate"): "MU.BEATS_MIN",
    ("vitals", "temperature_c"): "MU.CELSIUS",
    ("vitals", "respiratory_rate"): "MU.BREATHS_MIN",
    ("vitals", "weight_kg"): "MU.KG",
    ("infusion", "weight_kg"): "MU.KG",
    ("infusion", "volume_ml"): "MU.ML",
    ("infusion", "cell_count_1e6"): "MU.MILLION_CELLS",
    ("infusion", "viability_pct"): "MU.PERCENT",
    ("infusion", "dose_cells_per_kg"): "MU.CELLS_KG",
    ("infusion", "target_million_cells"): "MU.MILLION_CELLS",
    ("renal", "upcr_g_g"): "MU.G_G",
    ("renal", "creatinine_mg_dl"): "MU.MG_DL",
    ("renal", "egfr"): "MU.EGFR",
    ("renal", "age_years"): "MU.YEARS",
    ("renal", "urine_rbc_hpf"): "MU.PER_HPF",
    ("renal", "urine_wbc_hpf"): "MU.PER_HPF",
    ("conmed", "prednisone_equivalent_mg_day"): "MU.MG_DAY",
    ("medical_history", "biopsy_months_before_selection"): "MU.MONTHS",
    ("sledai2k", "window_days"): "MU.DAYS",
}


def _unit_of(form_code: str, name: str) -> Unit | None:
    if form_code == "sledai2k" and name.endswith("_days_before"):
        return UNITS["MU.DAYS"]
    key = FIELD_UNITS.get((form_code, name))
    return UNITS[key] if key else None


def _typing(field: Any) -> tuple[str, str, int | None, int | None]:
    """(kind, ODM DataType, Length, SignificantDigits) of a model field."""
    if isinstance(field, PartialDateField):
        return "partialDate", "partialDate", 10, None
    if isinstance(field, models.BooleanField):
        return "boolean", "text", 1, None
    if isinstance(field, models.IntegerField):
        small = isinstance(field, models.SmallIntegerField | models.PositiveSmallIntegerField)
        big = isinstance(field, models.BigIntegerField)
        return "integer", "integer", 5 if small else 19 if big else 10, None
    if isinstance(field, models.DecimalField):
        return "float", "float", field.max_digits, field.decimal_places
    if isinstance(field, models.DateTimeField):
        return "datetime", "datetime", None, None
    if isinstance(field, models.DateField):
        return "date", "date", None, None
    if isinstance(field, models.JSONField):
        return "json", "text", None, None
    if isinstance(field, models.CharField):
        return "text", "text", field.max_length, None
    return "text", "text", None, None


def oid_part(code: str) -> str:
    return code.upper()


def field_item(
    form_code: str,
    model: Any,
    name: str,
    *,
    mandatory: bool = False,
    origin: str = "CRF",
    label: str | None = None,
) -> Item:
    """The item of one model field; call it with English active, for its labels."""
    field = model._meta.get_field(name)
    kind, data_type, length, digits = _typing(field)
    codelist = None
    if kind == "boolean":
        codelist = NY
    elif field.choices:
        codelist = CodeList(
            f"CL.{oid_part(form_code)}.{oid_part(name)}",
            f"{form_code}.{name}",
            "integer" if kind == "integer" else "text",
            tuple((str(key), str(decode)) for key, decode in field.flatchoices),
        )
    return Item(
        oid=f"IT.{oid_part(form_code)}.{oid_part(name)}",
        name=name,
        column=field.attname,
        label=label or str(field.verbose_name),
        kind=kind,
        data_type=data_type,
        length=length,
        digits=digits,
        codelist=codelist,
        unit=_unit_of(form_code, name),
        mandatory=mandatory,
        origin=origin,
    )

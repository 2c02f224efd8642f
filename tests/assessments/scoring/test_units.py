"""UPCR and creatinine unit conversions: exact Decimal arithmetic, originals kept."""

from decimal import Decimal, localcontext

import pytest

from assessments.scoring import ScoringInputError, creatinine, upcr_to_g_per_g
from assessments.scoring.units import UNIT_CONVERSION, upcr_from_g_per_g


def test_mg_per_mmol_divides_by_creatinine_molar_mass() -> None:
    value = upcr_to_g_per_g(350, "mg/mmol")
    with localcontext(prec=34):
        assert value.g_per_g == Decimal(350) / Decimal("113.12")
    assert str(value.g_per_g).startswith("3.0940594")
    assert value.original_value == Decimal(350)
    assert value.original_unit == "mg/mmol"
    assert (value.calculator, value.version) == (UNIT_CONVERSION.name, UNIT_CONVERSION.version)


def test_case_p4_follow_up_is_below_half_a_gram_per_gram() -> None:
    value = upcr_to_g_per_g(55, "mg/mmol")
    assert str(value.g_per_g).startswith("0.48620933")
    assert value.g_per_g < Decimal("0.5")


def test_56_56_mg_per_mmol_is_exactly_half_a_gram_per_gram() -> None:
    assert upcr_to_g_per_g("56.56", "mg/mmol").g_per_g == Decimal("0.5")


def test_rounded_guideline_equivalent_50_mg_per_mmol_is_not_half_a_gram() -> None:
    assert upcr_to_g_per_g(50, "mg/mmol").g_per_g < Decimal("0.45")


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("500", "mg/g", "0.5"),
        ("1234.5", "mg/g", "1.2345"),
        ("0.5", "g/g", "0.5"),
        ("2.25", "mg/mg", "2.25"),
    ],
)
def test_mass_ratio_units(value: str, unit: str, expected: str) -> None:
    converted = upcr_to_g_per_g(value, unit)
    assert converted.g_per_g == Decimal(expected)
    assert converted.original_unit == unit
    assert converted.original_value == Decimal(value)


def test_float_input_is_read_through_its_decimal_repr() -> None:
    assert upcr_to_g_per_g(0.1, "g/g").g_per_g == Decimal("0.1")


def test_back_conversion_to_mg_per_mmol_and_mg_per_g() -> None:
    assert upcr_from_g_per_g("0.5", "mg/mmol") == Decimal("56.56")
    assert upcr_from_g_per_g("0.5", "mg/g") == Decimal(500)


@pytest.mark.parametrize("unit", ["mmol/mg", "g/L", "MG/MMOL", ""])
def test_unknown_upcr_unit_is_rejected_naming_the_field(unit: str) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        upcr_to_g_per_g(1, unit)
    assert excinfo.value.field == "upcr_unit"
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("bad", [-1, "abc", float("nan"), True, None])
def test_bad_upcr_values_are_rejected(bad: object) -> None:
    with pytest.raises(ScoringInputError) as excinfo:
        upcr_to_g_per_g(bad, "g/g")  # type: ignore[arg-type]
    assert excinfo.value.field == "upcr"


def test_creatinine_mg_dl_to_umol_l() -> None:
    value = creatinine("0.8", "mg/dL")
    assert value.umol_l == Decimal("70.72")
    assert value.mg_dl == Decimal("0.8")
    assert (value.original_value, value.original_unit) == (Decimal("0.8"), "mg/dL")


@pytest.mark.parametrize("unit", ["umol/L", "\u00b5mol/L", "\u03bcmol/L"])
def test_creatinine_umol_l_spellings_convert_to_mg_dl(unit: str) -> None:
    value = creatinine("132.6", unit)
    assert value.mg_dl == Decimal("1.5")
    assert value.original_unit == "umol/L"
    assert value.original_value == Decimal("132.6")


def test_creatinine_rejects_unknown_unit_and_non_positive_values() -> None:
    with pytest.raises(ScoringInputError) as unit_error:
        creatinine(1, "mmol/L")
    assert unit_error.value.field == "creatinine_unit"
    with pytest.raises(ScoringInputError) as zero_error:
        creatinine(0, "mg/dL")
    assert zero_error.value.field == "creatinine"


def test_albumin_g_per_l_is_a_tenth_of_g_per_dl() -> None:
    from assessments.scoring.units import albumin_to_g_dl

    value = albumin_to_g_dl("35", "g/L")
    assert (value.value, value.unit) == (Decimal("3.5"), "g/dL")
    assert (value.original_value, value.original_unit) == (Decimal(35), "g/L")
    assert albumin_to_g_dl("3.5", "g/dL").value == Decimal("3.5")


def test_proteinuria_mg_per_day_is_a_thousandth_of_g_per_day() -> None:
    from assessments.scoring.units import proteinuria_to_g_per_day

    assert proteinuria_to_g_per_day(2300, "mg/day").value == Decimal("2.3")
    # 500 mg/day is exactly the SLEDAI-2K threshold, not above it.
    assert proteinuria_to_g_per_day(500, "mg/day").value == Decimal("0.5")
    assert proteinuria_to_g_per_day("1.25", "g/day").value == Decimal("1.25")


@pytest.mark.parametrize(
    ("call", "unit"), [("albumin_to_g_dl", "mg/dL"), ("proteinuria_to_g_per_day", "g/L")]
)
def test_unknown_albumin_and_proteinuria_units_are_refused(call: str, unit: str) -> None:
    from assessments.scoring import units

    with pytest.raises(ScoringInputError, match="unit"):
        getattr(units, call)(1, unit)
    with pytest.raises(ScoringInputError):
        getattr(units, call)(-1, next(iter(units.ALBUMIN_FACTORS)))

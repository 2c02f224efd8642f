"""The screening panel of the laboratory form: ANA titre, CH50, albumin, 24-hour proteinuria,
viral serology, tuberculosis test and anti-HLA antibodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assessments.models import LabResults
from ecrf.errors import DomainError, PermissionDeniedError
from tests.assessments.test_labs_form import save
from tests.world import grant_release

SCREENING = {
    "sample_date": date(2026, 3, 2),
    "ana_result": "positive",
    "ana_titre": 160,
    "ch50_value": Decimal(35),
    "ch50_unit": "U/mL",
    "ch50_lln": Decimal(42),
    "ch50_uln": Decimal(95),
    "albumin_value": Decimal(28),
    "albumin_unit": "g/L",
    "albumin_lln": Decimal(35),
    "albumin_uln": Decimal(50),
    "proteinuria_24h_value": Decimal(2300),
    "proteinuria_24h_unit": "mg/day",
    "hiv_result": "negative",
    "hbsag_result": "negative",
    "anti_hbc_result": "negative",
    "hcv_result": "negative",
    "tb_method": "igra",
    "tb_result": "negative",
    "anti_hla_result": "positive",
    "anti_hla_mfi": 2500,
    "anti_hla_dsa": False,
}


def test_screening_panel_is_kept_with_flags_from_each_range(msvle, participant) -> None:
    form = save(msvle, participant, "SEL", SCREENING)
    assert form.warnings == []
    assert (form.ana_result, form.ana_titre) == ("positive", 160)
    assert (form.ch50_flag, form.albumin_flag) == ("L", "L")
    # Kept as entered; the flag compares with the lab's range in the same unit.
    assert (form.albumin_value, form.albumin_unit) == (Decimal(28), "g/L")
    assert (form.proteinuria_24h_value, form.proteinuria_24h_unit) == (Decimal(2300), "mg/day")
    assert (form.hiv_result, form.tb_method, form.anti_hla_dsa) == ("negative", "igra", False)


def test_a_negative_ana_alone_is_a_result(msvle, participant) -> None:
    form = save(
        msvle, participant, "SEL", {"sample_date": date(2026, 3, 2), "ana_result": "negative"}
    )
    assert form.ana_titre is None


@pytest.mark.parametrize("titre", [10, 40, 80, 1280, 5120])
def test_titres_of_the_two_fold_series_are_accepted(msvle, participant, titre) -> None:
    form = save(msvle, participant, "SEL", {**SCREENING, "ana_titre": titre})
    assert form.ana_titre == titre
    assert form.warnings == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"ana_titre": 100}, "ana_titre", "1:100 is not a dilution of the two-fold series"),
        ({"ana_titre": 0}, "ana_titre", "1:0 is not a dilution"),
        ({"ana_result": "negative"}, "ana_titre", "A negative ANA has no titre"),
        ({"ana_titre": None}, "ana_titre", "Give the titre of the positive ANA"),
        ({"ana_result": ""}, "ana_result", "Say whether the ANA was positive"),
        ({"ana_result": "weak"}, "ana_result", "use one of: positive, negative"),
        ({"hiv_result": "reactive"}, "hiv_result", "positive, negative, indeterminate"),
        ({"tb_method": ""}, "tb_method", "Say which tuberculosis test"),
        ({"tb_result": ""}, "tb_result", "Give the result of the tuberculosis test"),
        ({"tb_method": "xray"}, "tb_method", "use one of: igra, ppd"),
        (
            {"anti_hla_result": "negative", "anti_hla_dsa": True},
            "anti_hla_dsa",
            "none can be donor-specific",
        ),
        ({"anti_hla_result": ""}, "anti_hla_result", "Say whether anti-HLA antibodies"),
        ({"anti_hla_mfi": 150000}, "anti_hla_mfi", "An MFI of 150000 is impossible"),
        ({"anti_hla_mfi": -1}, "anti_hla_mfi", ""),
        # 11 g/dL of albumin is more than a serum can hold; 110 g/L is the same value.
        ({"albumin_value": Decimal(11), "albumin_unit": "g/dL"}, "albumin_value", "impossible"),
        ({"albumin_value": Decimal(110)}, "albumin_value", "Serum albumin 110 g/L is impossible"),
        ({"albumin_unit": "mg/dL"}, "albumin_unit", "use one of: g/dL, g/L"),
        ({"proteinuria_24h_value": Decimal(150000)}, "proteinuria_24h_value", "impossible"),
        ({"ch50_value": Decimal(2500)}, "ch50_value", "CH50 2500 U/mL is impossible"),
        ({"ch50_value": Decimal(-3)}, "ch50_value", "cannot be negative"),
    ],
)
def test_impossible_values_are_refused_with_a_clear_message(
    msvle, participant, change, field, message
) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "SEL", {**SCREENING, **change})
    assert message in " ".join(caught.value.fields[field])
    assert not LabResults.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        # 1.2 g/dL (12 g/L) is possible but rare enough to confirm; 1.5 g/dL is not flagged.
        ({"albumin_value": Decimal(12)}, "albumin_value", "Serum albumin 12 g/L is unusual"),
        ({"albumin_value": Decimal("6"), "albumin_unit": "g/dL"}, "albumin_value", "unusual"),
        (
            {"proteinuria_24h_value": Decimal(25), "proteinuria_24h_unit": "g/day"},
            "proteinuria_24h_value",
            "24-hour proteinuria 25 g/day is unusual",
        ),
        ({"ch50_value": Decimal(400)}, "ch50_value", "CH50 400 U/mL is unusual"),
        ({"ana_titre": 10240}, "ana_titre", "An ANA titre of 1:10240 is unusual"),
        ({"anti_hla_mfi": 40000}, "anti_hla_mfi", "An MFI of 40000 is unusual"),
    ],
)
def test_implausible_values_are_kept_with_a_warning(
    msvle, participant, change, field, message
) -> None:
    form = save(msvle, participant, "SEL", {**SCREENING, **change})
    warned = {w["field"]: w["message"] for w in form.warnings}
    assert message in warned[field]


def test_plausibility_boundaries_do_not_warn(msvle, participant) -> None:
    form = save(
        msvle,
        participant,
        "SEL",
        {
            **SCREENING,
            "albumin_value": Decimal(15),  # 1.5 g/dL, the lowest plausible value
            "proteinuria_24h_value": Decimal(20),
            "proteinuria_24h_unit": "g/day",
            "ana_titre": 5120,
            "anti_hla_mfi": 30000,
        },
    )
    assert form.warnings == []


def test_serology_can_be_entered_at_a_later_visit_and_is_optional(msvle, participant) -> None:
    form = save(
        msvle,
        participant,
        "W4",
        {"sample_date": date(2026, 4, 1), "platelets_value": 150, "platelets_unit": "10^9/L"},
    )
    assert form.hiv_result == "" and form.ana_titre is None


def test_wrong_role_and_other_site_cannot_enter_the_panel(msvle, participant) -> None:
    for actor in (msvle.pharmacist, msvle.monitor, msvle.other_coordinator):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, "SEL", SCREENING, actor=actor)
    assert not LabResults.objects.exists()


@pytest.mark.parametrize(
    ("role", "released", "sees"),
    [
        ("monitor", False, False),
        ("investigator", False, False),
        ("coordinator", False, False),
        ("unblinded_statistician", False, False),
        ("unblinded_statistician", True, True),
    ],
)
def test_donor_specific_antibodies_are_hidden_from_blinded_readers(
    client, msvle, participant, role, released, sees
) -> None:
    """Antibodies against the donor's HLA arise only after the cells: whether they are
    donor-specific reveals the arm; the rest of the anti-HLA result does not."""
    form = save(msvle, participant, "SEL", SCREENING)
    if released:
        grant_release(msvle)
    client.force_login(getattr(msvle, role))
    response = client.get(f"/api/v1/participants/{participant.pk}/forms/labs/{form.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert ("anti_hla_dsa" in body) is sees
    assert (body["anti_hla_result"], body["anti_hla_mfi"]) == ("positive", 2500)

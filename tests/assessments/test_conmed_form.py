"""Concomitant medications: prednisone equivalents, rescue agents, partial dates, coding."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from assessments.models import ConcomitantMedication
from assessments.services import form_save
from casebook.catalogue import form_type
from casebook.grid import casebook_grid
from ecrf.access import Role
from ecrf.errors import DomainError, PermissionDeniedError
from tests.factories import MembershipFactory, UserFactory

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def save(team, participant, data, *, actor=None, **kwargs):
    return form_save(
        actor=actor or team.coordinator,
        ftype=form_type("conmed"),
        participant=participant,
        data=data,
        now=NOW,
        **kwargs,
    )


def steroid(name, dose, **extra):
    return {
        "medication": name,
        "category": "glucocorticoid",
        "dose": Decimal(dose),
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "daily",
        "indication": "Lupus nephritis",
        "start_date": "2026-03-10",
        "ongoing": True,
        **extra,
    }


@pytest.mark.parametrize(
    ("name", "dose", "unit", "equivalent"),
    [
        ("Prednisone", "7.5", "mg", "7.500"),
        ("Prednisolone 5 mg tablets", "10", "mg", "10.000"),
        ("Methylprednisolone", "8", "mg", "10.000"),
        ("Dexamethasone", "3", "mg", "20.010"),
        ("Hydrocortisone", "20", "mg", "5.000"),
        ("Methylprednisolone pulse", "0.5", "g", "625.000"),
    ],
)
def test_prednisone_equivalent_per_glucocorticoid(
    msvle, participant, name, dose, unit, equivalent
) -> None:
    form = save(msvle, participant, steroid(name, dose, dose_unit=unit))
    assert form.prednisone_equivalent_mg_day == Decimal(equivalent)
    assert form.warnings == []
    assert f"= {Decimal(equivalent):f} mg/day" in form_type("conmed").explain(form)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"frequency": "bid"}, "frequency", "for frequency 'daily' only"),
        ({"medication": "Budesonide"}, "medication", "No prednisone equivalent is known"),
        ({"dose_unit": "mg/kg"}, "dose_unit", "Give the dose in mg"),
    ],
)
def test_glucocorticoid_without_a_daily_equivalent_warns(
    msvle, participant, change, field, message
) -> None:
    form = save(msvle, participant, {**steroid("Prednisone", "10"), **change})
    assert form.prednisone_equivalent_mg_day is None
    assert message in {w["field"]: w["message"] for w in form.warnings}[field]


def test_inhaled_steroid_does_not_count_and_does_not_warn(msvle, participant) -> None:
    form = save(msvle, participant, steroid("Budesonide", "0.4", route="inhaled"))
    assert (form.prednisone_equivalent_mg_day, form.warnings) == (None, [])


def test_glucocorticoid_filed_under_another_category_is_pointed_out(msvle, participant) -> None:
    form = save(msvle, participant, steroid("Prednisone", "5", category="other"))
    assert form.prednisone_equivalent_mg_day is None
    assert "choose category glucocorticoid" in form.warnings[0]["message"]


def test_rescue_by_category_or_proposed_from_the_rescue_list(msvle, participant) -> None:
    ivig = {
        "medication": "IVIG",
        "category": "rescue",
        "start_date": "2026-06",
        "end_date": "2026-06",
    }
    assert save(msvle, participant, ivig).is_rescue is True
    belimumab = {
        "medication": "Belimumab",
        "category": "immunosuppressant",
        "start_date": "2026-05-02",
        "ongoing": True,
    }
    proposed = save(msvle, participant, belimumab)
    assert proposed.is_rescue is True
    assert "Belimumab is on the list of rescue agents" in proposed.warnings[0]["message"]
    # Standard induction with cyclophosphamide is not rescue once the site says so.
    induction = save(
        msvle,
        participant,
        {
            "medication": "Cyclophosphamide (Euro-Lupus)",
            "category": "immunosuppressant",
            "start_date": "2026-03-05",
            "end_date": "2026-05-28",
            "given_as_rescue": False,
        },
    )
    assert (induction.is_rescue, induction.warnings) == (False, [])
    explanation = form_type("conmed").explain(proposed)
    assert "Rescue therapy: yes (belimumab is on the rescue list)" in explanation


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"start_date": "2026-04", "end_date": "2026-03-15"}, "end_date", "is before the start"),
        ({"end_date": "2026-05-01"}, "end_date", "An ongoing medication has no end date"),
        ({"start_date": "2026-13"}, "start_date", "YYYY, YYYY-MM or YYYY-MM-DD"),
        ({"start_date": "2026-02-30"}, "start_date", "Give a real date"),
        ({"start_date": "2026-10"}, "start_date", "in the future"),
        ({"dose": Decimal(-5)}, "dose", "greater than 0"),
        ({"dose_unit": ""}, "dose_unit", "Give the unit of the dose"),
        ({"category": "antibiotic"}, "category", "antibiotic is not accepted here"),
        ({"category": "rescue", "given_as_rescue": False}, "given_as_rescue", "rescue therapy"),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, change, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, {**steroid("Prednisone", "10"), **change})
    assert message in caught.value.fields[field][0]
    assert not ConcomitantMedication.objects.exists()


def test_partial_dates_compare_only_as_far_as_both_are_known(msvle, participant) -> None:
    form = save(
        msvle,
        participant,
        {
            **steroid("Prednisone", "10"),
            "start_date": "2026-04",
            "end_date": "2026-04-03",
            "ongoing": False,
        },
    )
    assert (form.start_date, form.end_date) == ("2026-04", "2026-04-03")
    # Started before consent (prior medication): accepted, with the end asked for.
    prior = save(
        msvle,
        participant,
        {"medication": "Hydroxychloroquine", "category": "antimalarial", "start_date": "2019"},
    )
    assert [w["field"] for w in prior.warnings] == ["end_date"]


def test_coded_fields_are_empty_by_default_and_entered_by_data_management(
    msvle, participant
) -> None:
    form = save(msvle, participant, steroid("Prednisone", "10"))
    assert (form.coded_term, form.coded_code, form.dictionary_version) == ("", "", "")
    with pytest.raises(PermissionDeniedError) as caught:
        save(
            msvle,
            participant,
            {"coded_term": "PREDNISONE"},
            record_id=form.pk,
            expected_version=1,
            reason="Coded",
        )
    assert set(caught.value.fields) == {"coded_term"}
    data_manager = UserFactory(username="msvle_data_manager")
    MembershipFactory(user=data_manager, trial=msvle.trial, role=Role.DATA_MANAGER)
    with pytest.raises(DomainError) as missing:
        save(
            msvle,
            participant,
            {"coded_term": "PREDNISONE", "coded_code": "000123"},
            actor=data_manager,
            record_id=form.pk,
            expected_version=1,
            reason="Coded",
        )
    assert "dictionary version" in missing.value.fields["dictionary_version"][0]
    coded = save(
        msvle,
        participant,
        {"coded_term": "PREDNISONE", "coded_code": "000123", "dictionary_version": "B3 2026"},
        actor=data_manager,
        record_id=form.pk,
        expected_version=1,
        reason="Coded",
    )
    assert (coded.coded_term, coded.row_version, coded.medication) == (
        "PREDNISONE",
        2,
        "Prednisone",
    )


def test_wrong_roles_and_other_site_cannot_enter(msvle, participant) -> None:
    for actor in (msvle.pharmacist, msvle.monitor, msvle.other_coordinator, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, steroid("Prednisone", "10"), actor=actor)
    assert not ConcomitantMedication.objects.exists()


def test_the_log_shows_its_count_on_each_visit_listing_it(msvle, participant) -> None:
    save(msvle, participant, steroid("Prednisone", "10"))
    save(
        msvle, participant, {"medication": "Ramipril", "category": "ace_arb", "start_date": "2025"}
    )
    cells = {
        (row.visit.code, cell.form_code): (cell.status, cell.count)
        for row in casebook_grid(participant)
        for cell in row.cells
    }
    assert cells[("W4", "conmed")] == ("log", 2)

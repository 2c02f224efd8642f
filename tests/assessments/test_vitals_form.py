"""Vital signs: one record per timepoint, infusion timepoints at dosing visits, ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assessments.models import VitalSigns
from assessments.selectors import can_read, form_values
from assessments.services import form_save
from casebook.catalogue import form_type
from casebook.grid import casebook_grid
from ecrf.errors import DomainError, PermissionDeniedError

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
D0_MORNING = datetime(2026, 3, 4, 8, 30, tzinfo=UTC)
INFUSION_START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
NORMAL = {
    "systolic": 118,
    "diastolic": 76,
    "heart_rate": 72,
    "temperature_c": Decimal("36.6"),
    "respiratory_rate": 14,
}


def save(team, participant, code, data, *, actor=None, **kwargs):
    return form_save(
        actor=actor or team.coordinator,
        ftype=form_type("vitals"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data=data,
        now=NOW,
        **kwargs,
    )


def at(timepoint, minutes=0, **values):
    """Vital signs `minutes` after an infusion started at 09:00 (before it when 0)."""
    measured = INFUSION_START + timedelta(minutes=minutes) if minutes else D0_MORNING
    return {"timepoint": timepoint, "measured_at": measured, **NORMAL, **values}


def test_every_infusion_timepoint_at_the_dosing_visit(msvle, participant) -> None:
    save(msvle, participant, "D0", at("visit", weight_kg=Decimal("64.8")))
    for timepoint, minutes in (("pre_dose", 0), ("15min", 15), ("30min", 30), ("60min", 60)):
        save(msvle, participant, "D0", at(timepoint, minutes))
    last = save(msvle, participant, "D0", at("2h", 120))
    assert last.warnings == []
    assert VitalSigns.objects.filter(visit__code="D0").count() == 6
    cells = {
        (row.visit.code, cell.form_code): (cell.status, cell.count)
        for row in casebook_grid(participant)
        for cell in row.cells
    }
    assert cells[("D0", "vitals")] == ("entered", 6)
    assert cells[("W4", "vitals")] == ("missing", 0)


def test_infusion_timepoint_refused_outside_a_dosing_visit(msvle, participant) -> None:
    data = at("15min", 15)
    data["measured_at"] = datetime(2026, 4, 1, 9, 15, tzinfo=UTC)
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "W4", data)
    assert caught.value.fields["timepoint"] == [
        "15 min after start of infusion is an infusion timepoint: it is recorded at a dosing "
        "visit only."
    ]
    assert not VitalSigns.objects.exists()


def test_second_record_for_the_same_timepoint_is_refused(msvle, participant) -> None:
    first = save(msvle, participant, "D0", at("pre_dose"))
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "D0", at("pre_dose", heart_rate=80))
    assert caught.value.fields["timepoint"] == [
        "Vital signs at timepoint 'Pre-dose' are already entered for visit D0; change that "
        "record instead."
    ]
    assert VitalSigns.objects.count() == 1
    # Changing the record itself is not a duplicate.
    changed = save(
        msvle,
        participant,
        "D0",
        {"heart_rate": 80},
        record_id=first.pk,
        expected_version=1,
        reason="Pulse re-read",
    )
    assert (changed.pk, changed.heart_rate, changed.row_version) == (first.pk, 80, 2)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"diastolic": 120, "systolic": 110}, "diastolic", "must be below the systolic"),
        ({"systolic": 400}, "systolic", "400 mmHg is impossible here"),
        ({"diastolic": None}, "diastolic", "Give both systolic and diastolic"),
        ({"weight_kg": Decimal(25)}, "weight_kg", "25 kg is impossible here"),
        ({"temperature_c": Decimal("46.0")}, "temperature_c", "is impossible here"),
        ({"heart_rate": "fast"}, "heart_rate", "must be an integer"),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, values, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "D0", at("pre_dose", **values))
    assert message in caught.value.fields[field][0]
    assert not VitalSigns.objects.exists()


def test_no_measurement_at_all_is_refused(msvle, participant) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "D0", {"timepoint": "visit", "measured_at": D0_MORNING})
    assert caught.value.fields == {"systolic": ["Enter at least one measurement."]}


def test_soft_checks_are_kept_as_warnings(msvle, participant) -> None:
    form = save(
        msvle,
        participant,
        "D0",
        at("60min", 60, temperature_c=Decimal("38.4"), heart_rate=135, weight_kg=Decimal(38)),
    )
    warned = {w["field"]: w["message"] for w in form.warnings}
    assert warned["temperature_c"].startswith("38.4 °C is unusual (expected 35.5 to 38)")
    assert "135 beats/min is unusual" in warned["heart_rate"]
    assert "38 kg is unusual (expected 40 to 150)" in warned["weight_kg"]


def test_pharmacist_reads_infusion_vitals_but_does_not_enter_them(msvle, participant) -> None:
    form = save(msvle, participant, "D0", at("pre_dose"))
    ftype = form_type("vitals")
    assert can_read(msvle.pharmacist, ftype, participant)
    assert form_values(msvle.pharmacist, ftype, form)["systolic"] == 118
    for actor in (msvle.pharmacist, msvle.monitor, msvle.other_coordinator, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, "D0", at("15min", 15), actor=actor)
    assert VitalSigns.objects.count() == 1


def test_a_time_outside_the_calendar_is_refused_with_a_field_message(msvle, participant):
    """The first midnight of the calendar in UTC is still the day before it in Madrid."""
    first = datetime(1, 1, 1, tzinfo=UTC)
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "D0", {**at("visit"), "measured_at": first})
    assert caught.value.fields["measured_at"] == ["The date and time lie outside the calendar."]
    assert not VitalSigns.objects.exists()

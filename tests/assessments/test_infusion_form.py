"""The study infusion: weight-based target, pharmacy-only product fields, blinding, Day 0 frozen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from assessments.models import Infusion, PregnancyTest
from assessments.rules.infusion import REVEALING
from assessments.selectors import form_history, form_values, revealing_fields
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from tests.assessments.test_renal_form import enrolled_in_cohort
from tests.world import grant_release, not_of_childbearing_potential, on_study
from trials.models import AllocationSlot
from visits.models import VisitStatus
from visits.services import participant_set_day0

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
STOP = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
ADMINISTRATION = {
    "weight_kg": Decimal(65),
    "weight_date": date(2026, 3, 4),
    "given": True,
    "volume_ml": Decimal(100),
    "start_time": START,
    "stop_time": STOP,
    "interrupted": False,
}
PRODUCT = {
    "kit_number": "K-0042",
    "product_lot": "LOT-7",
    "viability_pct": Decimal("92.5"),
    "release_checks_passed": True,
}
BLINDED = ("investigator", "coordinator", "monitor", "medical_monitor", "statistician")
UNBLINDED = ("pharmacist", "unblinded_statistician")


def save(team, participant, data, *, actor=None, **kwargs):
    """Save the infusion; a participant given it without any pregnancy form is first recorded
    as not of childbearing potential (the pregnancy gate has its own tests)."""
    if data.get("given") and not PregnancyTest.objects.filter(participant=participant).exists():
        day0 = "M0" if participant.visits.filter(code="M0").exists() else "D0"
        not_of_childbearing_potential(team, participant, code=day0, now=kwargs.get("now", NOW))
    return form_save(
        actor=actor or team.coordinator,
        ftype=form_type("infusion"),
        participant=participant,
        visit=participant.visits.get(code=kwargs.pop("code", "D0")),
        data=data,
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def by_arm(team):
    """One participant of each arm (the first block of the list holds both)."""
    found = {}
    while len(found) < 2:
        participant = on_study(team)
        arm = AllocationSlot.objects.get(participant=participant).arm_code
        found.setdefault(arm, participant)
    return found


def test_65_kg_gives_a_target_of_130_million_cells_and_completes_day0(msvle, participant) -> None:
    form = save(msvle, participant, ADMINISTRATION)
    assert form.target_million_cells == Decimal("130.000")
    assert form.dose_cells_per_kg == Decimal("2000000.0")
    assert (form.within_tolerance, form.deviation_required) == (None, None)
    assert form.warnings == []
    d0 = participant.visits.get(code="D0")
    assert (d0.status, d0.actual_date) == (VisitStatus.COMPLETED, date(2026, 3, 4))
    with pytest.raises(InvalidTransitionError, match="Day 0 can no longer move"):
        participant_set_day0(
            actor=msvle.coordinator,
            participant=participant,
            day0=date(2026, 3, 6),
            reason="Product delayed",
            now=NOW,
        )


def test_infusion_not_given_leaves_the_visit_open_and_day0_movable(msvle, participant) -> None:
    data = {
        "weight_kg": Decimal(65),
        "weight_date": date(2026, 3, 4),
        "given": False,
        "not_given_reason": "Fever on the morning of Day 0",
    }
    save(msvle, participant, data)
    assert participant.visits.get(code="D0").status != VisitStatus.COMPLETED
    moved = participant_set_day0(
        actor=msvle.coordinator,
        participant=participant,
        day0=date(2026, 3, 6),
        reason="Infusion postponed",
        now=NOW,
    )
    assert moved.day0 == date(2026, 3, 6)


def test_coordinator_cannot_send_pharmacy_fields_and_pharmacist_can(msvle, participant) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        save(msvle, participant, {**ADMINISTRATION, "cell_count_1e6": Decimal(130)})
    assert "cell_count_1e6" in caught.value.message
    assert set(caught.value.fields) == {"cell_count_1e6"}
    assert not Infusion.objects.exists()
    form = save(
        msvle,
        participant,
        {**ADMINISTRATION, **PRODUCT, "cell_count_1e6": Decimal(130)},
        actor=msvle.pharmacist,
    )
    assert (form.kit_number, form.cell_count_1e6) == ("K-0042", Decimal(130))
    # The pharmacist is not site staff: the visit is completed by the system account.
    d0 = participant.visits.get(code="D0")
    assert d0.status == VisitStatus.COMPLETED
    assert d0.history.first().history_user.is_system


def test_cells_within_and_outside_tolerance_by_arm(msvle) -> None:
    arms = by_arm(msvle)
    active, placebo = arms["MSC"], arms["PLACEBO"]
    save(msvle, active, ADMINISTRATION)
    inside = save(
        msvle,
        active,
        {**PRODUCT, "cell_count_1e6": Decimal(118)},
        actor=msvle.pharmacist,
        expected_version=1,
        reason="Product record",
    )
    assert (inside.within_tolerance, inside.deviation_required) == (True, False)
    assert inside.dose_warnings == []
    outside = save(
        msvle,
        active,
        {"cell_count_1e6": Decimal(110)},
        actor=msvle.pharmacist,
        expected_version=2,
        reason="Recount",
    )
    assert (outside.within_tolerance, outside.deviation_required) == (False, True)
    assert outside.dose_warnings == [
        "110 x10^6 viable cells administered is outside +/-10 % of the target 130 x10^6 "
        "(117 to 143): record a protocol deviation with its reason."
    ]
    # Every reader sees `warnings`, so the dose finding is not there.
    assert outside.warnings == []

    save(msvle, placebo, ADMINISTRATION)
    empty = save(
        msvle,
        placebo,
        {**PRODUCT, "cell_count_1e6": Decimal(0)},
        actor=msvle.pharmacist,
        expected_version=1,
        reason="Product record",
    )
    assert (empty.target_million_cells, empty.within_tolerance) == (Decimal("130.000"), True)
    assert empty.deviation_required is False
    cells = save(
        msvle,
        placebo,
        {"cell_count_1e6": Decimal(130)},
        actor=msvle.pharmacist,
        expected_version=2,
        reason="Correction",
    )
    assert (cells.within_tolerance, cells.deviation_required) == (False, True)
    assert "placebo" in cells.dose_warnings[0]


def test_failed_release_checks_require_a_deviation(msvle, participant) -> None:
    form = save(
        msvle,
        participant,
        {**ADMINISTRATION, **PRODUCT, "release_checks_passed": False, "viability_pct": 60},
        actor=msvle.pharmacist,
    )
    assert form.deviation_required is True
    assert any("release checks did not pass" in item for item in form.dose_warnings)
    assert any("Viability 60 % is below 70 %" in item for item in form.dose_warnings)


def test_blinded_users_never_receive_revealing_values(msvle, participant) -> None:
    save(msvle, participant, ADMINISTRATION)
    form = save(
        msvle,
        participant,
        {**PRODUCT, "cell_count_1e6": Decimal(110)},
        actor=msvle.pharmacist,
        expected_version=1,
        reason="Product record",
    )
    ftype = form_type("infusion")
    hidden = revealing_fields(ftype, participant)
    assert set(REVEALING) <= hidden
    for role in BLINDED:
        values = form_values(getattr(msvle, role), ftype, form)
        assert not hidden & set(values), role
        assert {"given", "volume_ml", "start_time", "stop_time"} <= set(values)
    # The unblinded statistician is blind too until the trial lock or a DSMB release.
    assert not hidden & set(form_values(msvle.unblinded_statistician, ftype, form))
    grant_release(msvle)
    for role in UNBLINDED:
        values = form_values(getattr(msvle, role), ftype, form)
        assert set(REVEALING) <= set(values), role
        assert values["cell_count_1e6"] == Decimal(110)
    explanation = ftype.explain(form)
    assert "130" not in explanation and "110" not in explanation


def test_history_hides_revealing_changes_from_blinded_users(msvle, participant) -> None:
    save(msvle, participant, ADMINISTRATION)
    save(
        msvle,
        participant,
        {**PRODUCT, "cell_count_1e6": Decimal(125)},
        actor=msvle.pharmacist,
        expected_version=1,
        reason="Product record",
    )
    form = save(
        msvle,
        participant,
        {"cell_count_1e6": Decimal(131)},
        actor=msvle.pharmacist,
        expected_version=2,
        reason="Recount",
    )
    form = save(
        msvle,
        participant,
        {"volume_ml": Decimal(98)},
        expected_version=3,
        reason="Volume read again from the pump",
    )
    ftype = form_type("infusion")
    hidden = revealing_fields(ftype, participant)
    for role in BLINDED:
        history = form_history(getattr(msvle, role), ftype, form)
        # The two pharmacy-only changes are left out entirely.
        assert [entry.reason for entry in history] == [
            "Initial entry",
            "Volume read again from the pump",
        ]
        fields = {change.field for entry in history for change in entry.changes}
        assert not fields & hidden
        values = {v for entry in history for c in entry.changes for v in (c.old, c.new)}
        assert not {Decimal(125), Decimal(131), "K-0042"} & values
    unblinded = form_history(msvle.pharmacist, ftype, form)
    recount = next(entry for entry in unblinded if entry.reason == "Recount")
    changes = {c.field: (c.old, c.new) for c in recount.changes}
    assert changes["cell_count_1e6"] == (Decimal(125), Decimal(131))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"weight_kg": Decimal(25)}, "weight_kg", "25 kg is impossible here"),
        ({"weight_kg": Decimal(201)}, "weight_kg", "201 kg is impossible here"),
        ({"stop_time": START}, "stop_time", "must stop after it starts"),
        ({"start_time": None}, "start_time", "Required when the infusion was given"),
        ({"weight_date": date(2026, 3, 5)}, "weight_date", "in the future"),
        ({"interrupted": True}, "interruption_details", "Describe the interruption"),
        ({"volume_ml": Decimal(0)}, "volume_ml", "impossible"),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, change, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, {**ADMINISTRATION, **change})
    assert message in caught.value.fields[field][0]
    assert not Infusion.objects.exists()
    assert participant.visits.get(code="D0").status != VisitStatus.COMPLETED


def test_pharmacist_gets_product_errors(msvle, participant) -> None:
    with pytest.raises(DomainError) as caught:
        save(
            msvle,
            participant,
            {**ADMINISTRATION, "viability_pct": Decimal(120), "cell_count_1e6": Decimal(-1)},
            actor=msvle.pharmacist,
        )
    assert set(caught.value.fields) == {"viability_pct", "cell_count_1e6"}
    assert not Infusion.objects.exists()


@pytest.mark.django_db
def test_soft_checks_are_kept_as_warnings(msvle) -> None:
    participant = on_study(msvle, day0=date(2026, 3, 20))
    form = save(
        msvle,
        participant,
        {
            **ADMINISTRATION,
            "weight_kg": Decimal(35),
            "weight_date": date(2026, 3, 5),
            "volume_ml": Decimal(80),
            "start_time": datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
            "stop_time": datetime(2026, 3, 20, 10, 0, tzinfo=UTC),
        },
        now=datetime(2026, 3, 20, 15, 0, tzinfo=UTC),
    )
    warned = {w["field"]: w["message"] for w in form.warnings}
    assert "35 kg is unusual (expected 40 to 150)" in warned["weight_kg"]
    assert "more than 7 days older" in warned["weight_date"]
    assert "The protocol infuses 100 mL; 80 mL" in warned["volume_ml"]
    assert form.target_million_cells == Decimal("70.000")


def test_weight_change_after_dosing_needs_a_reason_and_warns(msvle, participant) -> None:
    save(msvle, participant, ADMINISTRATION)
    with pytest.raises(DomainError, match="reason"):
        save(msvle, participant, {"weight_kg": Decimal("66.5")}, expected_version=1)
    form = save(
        msvle,
        participant,
        {"weight_kg": Decimal("66.5")},
        expected_version=1,
        reason="Scale recalibrated",
    )
    assert form.target_million_cells == Decimal("133.000")
    assert any("changed after the dose was given" in w["message"] for w in form.warnings)


def test_open_label_cohort_uses_the_cohort_dose(mscrole) -> None:
    participant = enrolled_in_cohort(mscrole)
    form = save(mscrole, participant, ADMINISTRATION, code="M0")
    # Cohort C1: 1 x 10^6 cells/kg.
    assert form.target_million_cells == Decimal("65.000")
    assert form.dose_cells_per_kg == Decimal("1000000.0")


def test_time_without_zone_is_the_site_local_time(msvle, participant) -> None:
    data = {**ADMINISTRATION, "start_time": "2026-03-04T10:00", "stop_time": "2026-03-04T11:00"}
    form = save(msvle, participant, data)
    # Valladolid is UTC+1 in March.
    assert form.start_time == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_wrong_roles_and_other_site_cannot_enter(msvle, participant) -> None:
    for actor in (
        msvle.monitor,
        msvle.statistician,
        msvle.unblinded_statistician,
        msvle.medical_monitor,
        msvle.other_coordinator,
    ):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, ADMINISTRATION, actor=actor)
    assert not Infusion.objects.exists()


def test_infusion_only_at_a_dosing_visit(msvle, participant) -> None:
    with pytest.raises(DomainError, match="does not collect Study infusion"):
        save(msvle, participant, ADMINISTRATION, code="W4")

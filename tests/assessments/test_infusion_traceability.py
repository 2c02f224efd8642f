"""Cell-product traceability on the infusion: bag and donor code, release results against the
protocol's limits, the chain of custody and the thaw-to-infusion time, a bag given once only,
and the infusion monitoring (SpO2, premedication) every site user enters and reads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from assessments.models import Infusion
from ecrf.errors import DomainError, PermissionDeniedError
from tests.assessments.test_infusion_form import ADMINISTRATION, PRODUCT, save
from tests.assessments.test_protocol_thresholds import TRIAL_A, copy_of
from tests.world import on_study

# The infusion starts at 09:00 UTC (10:00 in Madrid) on 2026-03-04.
RELEASE = {
    "bag_id": "BAG-0001",
    "donor_code": "D-2231",
    "sterility_result": "negative",
    "endotoxin_eu_per_ml": Decimal("0.25"),
    "mycoplasma_result": "negative",
}
CUSTODY = {
    "received_at": datetime(2026, 3, 3, 15, 0, tzinfo=UTC),
    "received_by": "A. Pharmacist",
    "storage_acceptable": True,
    "thawed_at": datetime(2026, 3, 4, 8, 15, tzinfo=UTC),
    "dispensed_at": datetime(2026, 3, 4, 8, 40, tzinfo=UTC),
}
MONITORING = {
    "premedication_given": True,
    "premedication_details": "Paracetamol 1 g orally at 08:30",
    "spo2_pre_pct": 98,
    "spo2_during_pct": 97,
    "spo2_post_pct": 98,
}


def pharmacy(team, participant, data):
    return save(team, participant, {**ADMINISTRATION, **data}, actor=team.pharmacist)


def refused(team, participant, data, *, actor=None) -> dict[str, list[str]]:
    with pytest.raises(DomainError) as caught:
        save(team, participant, {**ADMINISTRATION, **data}, actor=actor or team.pharmacist)
    return caught.value.fields


def test_a_complete_product_record_is_kept_without_findings(msvle, participant) -> None:
    form = pharmacy(msvle, participant, {**PRODUCT, **RELEASE, **CUSTODY})
    assert (form.bag_id, form.donor_code, form.received_by) == (
        "BAG-0001",
        "D-2231",
        "A. Pharmacist",
    )
    assert form.dose_warnings == []
    assert form.deviation_required is None


@pytest.mark.parametrize("name", ["Maria Lopez", "MARIALOPEZ", "m-2231", "D1", "D 2231"])
def test_a_donor_code_that_looks_like_a_name_is_refused(msvle, participant, name) -> None:
    fields = refused(msvle, participant, {**PRODUCT, "donor_code": name})
    assert "never the donor's name" in fields["donor_code"][0]
    assert not Infusion.objects.exists()


def test_the_donor_code_format_comes_from_the_protocol() -> None:
    assert copy_of(TRIAL_A).dosing.donor_code_pattern == "(?=.*[0-9])[A-Z0-9][A-Z0-9-]{3,29}"
    changed = copy_of(
        TRIAL_A,
        (
            'donor_code_pattern: "(?=.*[0-9])[A-Z0-9][A-Z0-9-]{3,29}"',
            'donor_code_pattern: "DN[0-9]{6}"',
        ),
    )
    assert changed.dosing.donor_code_pattern == "DN[0-9]{6}"


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        ({"sterility_result": "positive"}, "The sterility test is positive"),
        ({"mycoplasma_result": "positive"}, "The mycoplasma test is positive"),
        ({"endotoxin_eu_per_ml": Decimal("0.501")}, "Endotoxin 0.501 EU/mL is above 0.5 EU/mL"),
        ({"viability_pct": Decimal("69.9")}, "Viability 69.9 % is below 70 %"),
    ],
)
def test_a_release_result_outside_the_limits_requires_a_deviation(
    msvle, participant, change, finding
) -> None:
    form = pharmacy(msvle, participant, {**PRODUCT, **RELEASE, **change})
    assert form.deviation_required is True
    assert f"{finding}; check the release specification." in form.dose_warnings
    assert any("recorded as passed although" in item for item in form.dose_warnings)
    # Every reader sees `warnings`: the release findings are never there.
    assert form.warnings == []


def test_release_results_at_their_limits_pass(msvle, participant) -> None:
    form = pharmacy(
        msvle,
        participant,
        {**PRODUCT, **RELEASE, "endotoxin_eu_per_ml": Decimal("0.5"), "viability_pct": 70},
    )
    assert (form.dose_warnings, form.deviation_required) == ([], None)


def test_the_release_limits_come_from_the_protocol() -> None:
    dosing = copy_of(TRIAL_A).dosing
    assert (dosing.endotoxin_max_eu_per_ml, dosing.max_minutes_thaw_to_infusion) == (0.5, 60)
    assert dosing.sterility_negative_required and dosing.mycoplasma_negative_required
    lax = copy_of(
        TRIAL_A,
        ("  endotoxin_max_eu_per_ml: 0.5\n", ""),
        ("  sterility_negative_required: true\n", ""),
        ("  max_minutes_thaw_to_infusion: 60\n", "  max_minutes_thaw_to_infusion: 90\n"),
    )
    assert lax.dosing.endotoxin_max_eu_per_ml is None
    assert lax.dosing.sterility_negative_required is False
    assert lax.dosing.max_minutes_thaw_to_infusion == 90


@pytest.mark.parametrize(
    ("thawed", "late"),
    [
        (datetime(2026, 3, 4, 8, 0, tzinfo=UTC), False),
        (datetime(2026, 3, 4, 7, 59, tzinfo=UTC), True),
    ],
    ids=["60-minutes", "61-minutes"],
)
def test_thaw_to_infusion_above_the_protocol_maximum(msvle, participant, thawed, late) -> None:
    form = pharmacy(msvle, participant, {**PRODUCT, **CUSTODY, "thawed_at": thawed})
    message = (
        "The infusion started 61 minutes after the thaw or preparation, more than the "
        "protocol's 60 minutes: record a protocol deviation."
    )
    assert (message in form.dose_warnings) is late
    assert form.deviation_required is (True if late else None)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"thawed_at": datetime(2026, 3, 3, 14, 0, tzinfo=UTC)},
            "thawed_at",
            "The thaw or preparation is before the receipt at the site.",
        ),
        (
            {"thawed_at": datetime(2026, 3, 4, 9, 5, tzinfo=UTC)},
            "thawed_at",
            "The start of the infusion is before the thaw or preparation.",
        ),
        (
            {"dispensed_at": datetime(2026, 3, 4, 9, 1, tzinfo=UTC)},
            "dispensed_at",
            "The start of the infusion is before the dispensing.",
        ),
        ({"received_by": ""}, "received_by", "Say who received the product at the site."),
        (
            {"received_at": datetime(2026, 3, 4, 16, 0, tzinfo=UTC)},
            "received_at",
            "The time is in the future.",
        ),
    ],
)
def test_the_chain_of_custody_is_in_order(msvle, participant, change, field, message) -> None:
    fields = refused(msvle, participant, {**PRODUCT, **CUSTODY, **change})
    assert message in fields[field]


def test_a_start_moved_before_the_thaw_is_a_finding_for_pharmacy_only(msvle, participant) -> None:
    form = pharmacy(msvle, participant, {**PRODUCT, **CUSTODY})
    moved = save(
        msvle,
        participant,
        {"start_time": datetime(2026, 3, 4, 8, 20, tzinfo=UTC)},
        expected_version=form.row_version,
        reason="Start time read again from the pump",
    )
    # The coordinator is not told about the product's times; the pharmacy finding is kept.
    assert moved.warnings == []
    assert (
        "Chain of custody: The start of the infusion is before the dispensing."
        in moved.dose_warnings
    )


def test_storage_not_acceptable_requires_a_deviation(msvle, participant) -> None:
    form = pharmacy(msvle, participant, {**PRODUCT, **CUSTODY, "storage_acceptable": False})
    assert form.deviation_required is True
    assert "storage or temperature was not acceptable" in form.dose_warnings[0]


def test_a_bag_is_given_once_only_across_the_trial(msvle, participant) -> None:
    pharmacy(msvle, participant, {**PRODUCT, **RELEASE})
    other = on_study(msvle)
    fields = refused(msvle, other, {**PRODUCT, **RELEASE})
    who = participant.subject_id or participant.screening_number
    assert fields["bag_id"] == [
        f"Bag BAG-0001 is already recorded for participant {who} (visit D0); "
        "a bag is given once only."
    ]
    assert Infusion.objects.count() == 1
    form = pharmacy(msvle, other, {**PRODUCT, **RELEASE, "bag_id": "BAG-0002"})
    assert form.bag_id == "BAG-0002"


def test_the_bag_identifier_is_unique_in_the_database(msvle, participant) -> None:
    from django.db import IntegrityError, transaction

    form = pharmacy(msvle, participant, {**PRODUCT, **RELEASE})
    other = pharmacy(msvle, on_study(msvle), {**PRODUCT, **RELEASE, "bag_id": "BAG-0002"})
    other.bag_id = form.bag_id
    with pytest.raises(IntegrityError), transaction.atomic():
        other.save(update_fields=["bag_id"])


def test_site_staff_cannot_enter_product_or_custody_fields(msvle, participant) -> None:
    for name, value in {**RELEASE, **CUSTODY}.items():
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, {**ADMINISTRATION, name: value})
    assert not Infusion.objects.exists()


def test_site_staff_enter_the_infusion_monitoring(msvle, participant) -> None:
    form = save(msvle, participant, {**ADMINISTRATION, **MONITORING})
    assert (form.spo2_pre_pct, form.spo2_during_pct, form.premedication_given) == (98, 97, True)
    assert form.warnings == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"spo2_during_pct": 40}, "spo2_during_pct", "impossible"),
        ({"spo2_post_pct": 101}, "spo2_post_pct", "impossible"),
        ({"premedication_details": ""}, "premedication_details", "Name the premedication"),
        (
            {"premedication_given": False},
            "premedication_details",
            "Only when a premedication was given.",
        ),
    ],
)
def test_infusion_monitoring_checks(msvle, participant, change, field, message) -> None:
    fields = refused(msvle, participant, {**MONITORING, **change}, actor=msvle.coordinator)
    assert message in fields[field][0]


def test_a_low_saturation_during_the_infusion_is_a_warning(msvle, participant) -> None:
    form = save(msvle, participant, {**ADMINISTRATION, **MONITORING, "spo2_during_pct": 89})
    assert [w["field"] for w in form.warnings] == ["spo2_during_pct"]

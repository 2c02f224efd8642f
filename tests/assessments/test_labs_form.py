"""Laboratory tests: flags from each lab's own range, unit and range checks, grid query count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.models import LabResults
from assessments.selectors import can_read
from assessments.services import form_save
from casebook.catalogue import form_type
from casebook.grid import casebook_grid
from ecrf.errors import DomainError, PermissionDeniedError
from tests.assessments.test_renal_form import renal
from tests.world import ENTERED

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
PANEL = {
    "sample_date": date(2026, 4, 1),
    "haemoglobin_value": Decimal("12.5"),
    "haemoglobin_unit": "g/dL",
    "haemoglobin_lln": Decimal(12),
    "haemoglobin_uln": Decimal(16),
    "wbc_value": Decimal("4.2"),
    "wbc_unit": "10^9/L",
    "neutrophils_value": Decimal("2.6"),
    "neutrophils_unit": "10^9/L",
    "lymphocytes_value": Decimal("1.1"),
    "lymphocytes_unit": "10^9/L",
    "c3_value": Decimal("0.6"),
    "c3_unit": "g/L",
    "c3_lln": Decimal("0.9"),
    "c3_uln": Decimal("1.8"),
    "anti_dsdna_value": Decimal(250),
    "anti_dsdna_unit": "IU/mL",
    "anti_dsdna_lln": Decimal(0),
    "anti_dsdna_uln": Decimal(100),
}


def save(team, participant, code, data, *, actor=None, form="labs", **kwargs):
    return form_save(
        actor=actor or team.coordinator,
        ftype=form_type(form),
        participant=participant,
        visit=participant.visits.get(code=code),
        data=data,
        now=NOW,
        **kwargs,
    )


def test_each_result_is_flagged_against_its_own_range(msvle, participant) -> None:
    form = save(msvle, participant, "W4", PANEL)
    assert (form.haemoglobin_flag, form.c3_flag, form.anti_dsdna_flag) == ("N", "L", "H")
    # No range given: no flag, never a guessed one.
    assert (form.wbc_flag, form.platelets_flag) == ("", "")
    assert form.warnings == []
    explanation = form_type("labs").explain(form)
    assert "C3 0.6 < LLN 0.9: L" in explanation
    assert "Anti-dsDNA 250 > ULN 100: H" in explanation


def test_flag_follows_a_corrected_range(msvle, participant) -> None:
    save(msvle, participant, "W4", PANEL)
    form = save(
        msvle,
        participant,
        "W4",
        {"c3_lln": Decimal("0.5")},
        expected_version=1,
        reason="Range of the new assay",
    )
    assert form.c3_flag == "N"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"platelets_value": Decimal(-5), "platelets_unit": "10^9/L"},
            "platelets_value",
            "negative",
        ),
        ({"c3_lln": Decimal(2)}, "c3_lln", "lower limit of normal (2) is above the upper limit"),
        ({"c4_value": Decimal("0.2")}, "c4_unit", "Give the unit of C4"),
        ({"c3_unit": "IU/mL"}, "c3_unit", "use one of: g/L, mg/dL"),
        ({"sample_date": date(2026, 9, 3)}, "sample_date", "in the future"),
    ],
)
def test_hard_checks_refuse_and_write_nothing(msvle, participant, change, field, message) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "W4", {**PANEL, **change})
    assert message in caught.value.fields[field][0]
    assert not LabResults.objects.exists()


def test_a_form_without_any_result_is_refused(msvle, participant) -> None:
    with pytest.raises(DomainError) as caught:
        save(msvle, participant, "W4", {"sample_date": date(2026, 4, 1)})
    assert caught.value.fields == {"haemoglobin_value": ["Enter at least one result."]}


def test_soft_checks_are_kept_as_warnings(msvle, participant) -> None:
    data = {
        **PANEL,
        # 25 g/L is 2.5 g/dL: most likely entered in the wrong unit.
        "haemoglobin_value": Decimal(25),
        "haemoglobin_unit": "g/L",
        "haemoglobin_lln": Decimal(120),
        "haemoglobin_uln": Decimal(160),
        "platelets_value": Decimal(1500),
        "platelets_unit": "10^9/L",
        "lymphocytes_value": Decimal("2.0"),
    }
    form = save(msvle, participant, "W4", data)
    warned = {w["field"]: w["message"] for w in form.warnings}
    assert "Haemoglobin 25 g/L is unusual (expected 5 to 20 g/dL)" in warned["haemoglobin_value"]
    assert "Platelets 1500 10^9/L is unusual" in warned["platelets_value"]
    assert "exceed the white cell count" in warned["neutrophils_value"]
    assert form.haemoglobin_flag == "L"


def test_wrong_roles_and_other_site_cannot_enter(msvle, participant) -> None:
    for actor in (msvle.pharmacist, msvle.monitor, msvle.other_coordinator, msvle.statistician):
        with pytest.raises(PermissionDeniedError):
            save(msvle, participant, "W4", PANEL, actor=actor)
    assert not LabResults.objects.exists()
    assert not can_read(msvle.pharmacist, form_type("labs"), participant)


FILLED = {
    "SEL": date(2026, 3, 2),
    "D0": date(2026, 3, 4),
    "W4": date(2026, 4, 1),
    "W8": date(2026, 4, 29),
    "W12": date(2026, 5, 27),
    "W16": date(2026, 6, 24),
    "W20": date(2026, 7, 22),
    "W24": date(2026, 8, 19),
}


def fill(team, participant, codes) -> None:
    for code in codes:
        day = FILLED[code]
        save(team, participant, code, {**PANEL, "sample_date": day})
        if "renal" in participant.visits.get(code=code).forms:
            save(team, participant, code, renal(day, "1.0", "g/g", "0.9"), form="renal")
        save(
            team,
            participant,
            code,
            {
                "timepoint": "visit",
                "measured_at": datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                "systolic": 120,
                "diastolic": 80,
            },
            form="vitals",
        )


def test_grid_queries_do_not_grow_with_filled_visits(
    msvle, participant, django_assert_num_queries
) -> None:
    codes = list(FILLED)
    fill(msvle, participant, codes[:2])
    # visits (1); one per form model (12); consent and eligibility counts (1); review marks
    # (4: queries, SDV marks, signatures, locks).
    with django_assert_num_queries(18):
        two = casebook_grid(participant, now=ENTERED)
    fill(msvle, participant, codes[2:])
    with CaptureQueriesContext(connection) as eight_filled:
        eight = casebook_grid(participant, now=ENTERED)
    assert len(eight_filled) == 18
    statuses = {
        (row.visit.code, cell.form_code): cell.status for row in eight for cell in row.cells
    }
    assert all(statuses[(code, "labs")] == "entered" for code in codes)
    assert statuses[("W24", "renal")] == "entered"
    # Week 52 is months away on 2026-09-01: its labs are not due, not missing.
    assert statuses[("FU52", "labs")] == "not_due"
    later = casebook_grid(participant, now=datetime(2027, 6, 1, tzinfo=UTC))
    assert {(row.visit.code, cell.form_code): cell.status for row in later for cell in row.cells}[
        ("FU52", "labs")
    ] == "missing"
    assert sum(cell.status == "entered" for row in two for cell in row.cells) < sum(
        cell.status == "entered" for row in eight for cell in row.cells
    )

"""ISO 8601 dates and SDTM study days: Day 0 is day 1, no day 0, partial dates never imputed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from exports.datasets.common import dtc_day, iso_datetime, study_day
from exports.datasets.visits import planned_study_day
from tests.exports.dataset_fixtures import DAY0, rows_of


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(DAY0, 1, id="day-0-is-day-1"),
        pytest.param(DAY0 - timedelta(days=1), -1, id="the-day-before-is-minus-1"),
        pytest.param(DAY0 + timedelta(days=1), 2, id="the-day-after-is-2"),
        pytest.param(DAY0 + timedelta(days=168), 169, id="day-168-is-169"),
        pytest.param(DAY0 - timedelta(days=28), -28, id="day-minus-28-stays"),
    ],
)
def test_study_day_worked_examples(day: date, expected: int) -> None:
    assert study_day(day, DAY0) == expected


def test_no_study_day_without_both_complete_dates() -> None:
    assert study_day(None, DAY0) is None
    assert study_day(DAY0, None) is None
    assert dtc_day("2026-03") is None
    assert dtc_day("2026") is None
    assert dtc_day("") is None
    assert dtc_day("2026-03-04T10:15") == date(2026, 3, 4)


@pytest.mark.parametrize(("protocol_day", "sdtm_day"), [(0, 1), (168, 169), (-7, -7), (None, None)])
def test_planned_visit_day(protocol_day: int | None, sdtm_day: int | None) -> None:
    assert planned_study_day(protocol_day) == sdtm_day


def test_times_are_local_to_the_site_and_seconds_only_when_recorded() -> None:
    assert (
        iso_datetime(datetime(2026, 3, 4, 9, 0, tzinfo=UTC), "Europe/Madrid") == "2026-03-04T10:00"
    )
    # Summer time in Madrid; a time just after midnight UTC is still the previous day in Chile.
    assert iso_datetime(datetime(2026, 7, 1, 9, 0, 5, tzinfo=UTC), "Europe/Madrid") == (
        "2026-07-01T11:00:05"
    )
    assert iso_datetime(datetime(2026, 7, 1, 1, 0, tzinfo=UTC), "America/Santiago") == (
        "2026-06-30T21:00"
    )
    assert iso_datetime(None, "Europe/Madrid") == ""


def _one(rows: list[dict], **match: object) -> dict:
    found = [row for row in rows if all(row[key] == value for key, value in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_study_days_in_the_exported_datasets(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx()
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)

    dm = _one(rows_of(ctx, "DM"), USUBJID=p1)
    assert dm["RFSTDTC"] == "2026-03-04"
    # The infusion started at 09:00 UTC, 10:00 in Madrid.
    assert dm["RFXSTDTC"] == "2026-03-04T10:00"

    lb = rows_of(ctx, "LB")
    assert _one(lb, USUBJID=p1, LBTESTCD="HGB", LBDTC="2026-03-03")["LBDY"] == -1
    assert _one(lb, USUBJID=p1, LBTESTCD="HGB", LBDTC="2026-03-04")["LBDY"] == 1
    assert _one(lb, USUBJID=p1, LBTESTCD="PROTCRT", LBDTC="2026-03-02")["LBDY"] == -2

    sv = rows_of(ctx, "SV")
    week24 = _one(sv, USUBJID=p1, VISITNUM=10.0)
    assert (week24["VISITDY"], week24["SVSTDTC"], week24["SVSTDY"]) == (169, "2026-08-19", 169)
    day0 = _one(sv, USUBJID=p1, VISITNUM=3.0)
    assert (day0["VISITDY"], day0["SVSTDY"]) == (1, 1)

    total = _one(rows_of(ctx, "RS"), USUBJID=p1, RSTESTCD="SLDAITOT", RSDTC="2026-08-19")
    assert total["RSDY"] == 169

    ec = _one(rows_of(ctx, "EC"), USUBJID=p1)
    assert (ec["ECSTDTC"], ec["ECENDTC"], ec["ECSTDY"]) == (
        "2026-03-04T10:00",
        "2026-03-04T10:45",
        1,
    )


def test_unscheduled_visit_is_numbered_after_its_parent(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx()
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    visits = [row for row in rows_of(ctx, "SV") if row["USUBJID"] == p1]
    assert [row["VISITNUM"] for row in visits] == [1.0, 2.0, 3.0, 3.01, 5.0, 10.0]
    unscheduled = _one(visits, VISITNUM=3.01)
    assert unscheduled["VISITDY"] is None
    assert (unscheduled["SVSTDTC"], unscheduled["SVSTDY"]) == ("2026-03-06", 3)
    assert unscheduled["SVUPDES"] == "Fever after the infusion"
    wbc = _one(rows_of(ctx, "LB"), USUBJID=p1, LBTESTCD="WBC", VISITNUM=3.01)
    assert (wbc["LBDTC"], wbc["LBDY"]) == ("2026-03-06", 3)


def test_partial_dates_stay_partial_and_have_no_study_day(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx()
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    fever = _one(rows_of(ctx, "AE"), USUBJID=p1)
    assert (fever["AESTDTC"], fever["AESTDY"]) == ("2026-03", None)
    assert (fever["AEENDTC"], fever["AEENDY"]) == ("2026-03-05", 2)
    headache = _one(rows_of(ctx, "AE"), USUBJID=sdtm_trial.usubjid(sdtm_trial.p2))
    assert (headache["AESTDTC"], headache["AESTDY"], headache["AEENRF"]) == (
        "2026-03-05",
        2,
        "ONGOING",
    )
    prednisone = _one(rows_of(ctx, "CM"), USUBJID=p1)
    assert (prednisone["CMSTDTC"], prednisone["CMSTDY"]) == ("2026-01", None)


def test_screen_failure_has_no_reference_start_and_no_study_days(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx()
    p3 = sdtm_trial.usubjid(sdtm_trial.p3)
    dm = _one(rows_of(ctx, "DM"), USUBJID=p3)
    assert (dm["RFSTDTC"], dm["RFICDTC"], dm["ARMNRS"]) == ("", "2026-03-02", "SCREEN FAILURE")
    ds = [row for row in rows_of(ctx, "DS") if row["USUBJID"] == p3]
    assert [row["DSDECOD"] for row in ds] == ["INFORMED CONSENT OBTAINED", "SCREEN FAILURE"]
    assert all(row["DSSTDY"] is None for row in ds)

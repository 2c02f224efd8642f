"""Datasets rebuilt as of a past instant: later edits, participants and forms are not seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exports.tabular import tabular_total
from tests.exports.dataset_fixtures import (
    AS_OF,
    LATEST,
    SETUP,
    rows_of,
    write,
)


def _column(rows: list[dict], name: str, **match: object) -> list[object]:
    return [row[name] for row in rows if all(row[key] == value for key, value in match.items())]


def test_an_edit_after_the_instant_is_not_seen(sdtm_trial) -> None:
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    then, now = sdtm_trial.ctx(AS_OF), sdtm_trial.ctx(LATEST)
    assert _column(rows_of(then, "AE"), "AETERM", USUBJID=p1) == ["Fever"]
    assert _column(rows_of(now, "AE"), "AETERM", USUBJID=p1) == ["Pyrexia"]
    week4 = {"USUBJID": p1, "LBTESTCD": "HGB", "VISITNUM": 5.0}
    assert _column(rows_of(then, "LB"), "LBORRES", **week4) == ["12.9"]
    assert _column(rows_of(now, "LB"), "LBORRES", **week4) == ["13.1"]


def test_a_participant_registered_after_the_instant_is_absent(sdtm_trial) -> None:
    late = sdtm_trial.usubjid(sdtm_trial.p4)
    assert late not in _column(rows_of(sdtm_trial.ctx(AS_OF), "DM"), "USUBJID")
    dm_now = rows_of(sdtm_trial.ctx(LATEST), "DM")
    assert late in _column(dm_now, "USUBJID")
    assert len(dm_now) == 4


def test_forms_and_visits_entered_after_the_instant_are_absent(sdtm_trial) -> None:
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    then, now = sdtm_trial.ctx(AS_OF), sdtm_trial.ctx(LATEST)
    assert 10.0 not in _column(rows_of(then, "SV"), "VISITNUM", USUBJID=p1)
    assert 10.0 in _column(rows_of(now, "SV"), "VISITNUM", USUBJID=p1)
    assert _column(rows_of(then, "RS"), "RSORRES", USUBJID=p1, RSTESTCD="RRESEULR") == ["PRR"]
    assert _column(rows_of(now, "RS"), "RSORRES", USUBJID=p1, RSTESTCD="RRESEULR") == [
        "PRR",
        "CRR",
    ]
    # Week 4 was recorded on 2026-04-01: a snapshot of mid-March does not have it.
    mid_march = sdtm_trial.ctx(datetime(2026, 3, 20, tzinfo=UTC))
    assert _column(rows_of(mid_march, "SV"), "VISITNUM", USUBJID=p1) == [1.0, 2.0, 3.0, 3.01]
    assert _column(rows_of(mid_march, "DV"), "USUBJID") == []
    _a_planned_day0_is_not_a_reference_date_before_the_infusion(sdtm_trial)


def test_before_the_trial_had_participants_every_dataset_is_empty(sdtm_trial, tmp_path) -> None:
    ctx = sdtm_trial.ctx(SETUP - timedelta(seconds=1))
    assert tabular_total(ctx) == 0
    written, reports = write(ctx, "csv", tmp_path)
    assert sum(reports) == 0
    data = [item for item in written if not item.path.name.endswith("_codebook.csv")]
    # Every dataset but EX and SUPPEX, each with its header only: nor was the protocol loaded
    # yet, and RELREC relates nothing.
    assert len(data) == 23
    assert all(item.rows == 0 for item in data)
    assert all(len(item.path.read_text().splitlines()) == 1 for item in data)


def test_progress_adds_up_to_the_total_at_each_instant(sdtm_trial, tmp_path) -> None:
    totals = {}
    for as_of in (AS_OF, LATEST):
        ctx = sdtm_trial.ctx(as_of, blinded=False)
        written, reports = write(ctx, "csv", tmp_path / f"{as_of:%Y%m%d}")
        totals[as_of] = tabular_total(ctx)
        assert sum(reports) == totals[as_of]
        assert sum(item.rows for item in written) == totals[as_of]
    assert totals[AS_OF] < totals[LATEST]


def _a_planned_day0_is_not_a_reference_date_before_the_infusion(sdtm_trial) -> None:
    # Day 0 was planned for 2026-03-04 at randomization; the infusion was given that day.
    p1 = sdtm_trial.usubjid(sdtm_trial.p1)
    planned = sdtm_trial.ctx(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    dm = {row["USUBJID"]: row for row in rows_of(planned, "DM")}
    assert (dm[p1]["RFSTDTC"], dm[p1]["RFXSTDTC"]) == ("", "")
    # No study day or baseline flag counts from a day that had not come.
    assert set(_column(rows_of(planned, "SV"), "SVSTDY", USUBJID=p1)) == {None}
    lb = [row for row in rows_of(planned, "LB") if row["USUBJID"] == p1]
    assert lb and {row["LBDY"] for row in lb} == {None}
    assert {row["LBLOBXFL"] for row in lb} == {None}
    given = {row["USUBJID"]: row for row in rows_of(sdtm_trial.ctx(AS_OF), "DM")}
    assert given[p1]["RFSTDTC"] == "2026-03-04"
    assert _column(rows_of(sdtm_trial.ctx(AS_OF), "SV"), "SVSTDY", USUBJID=p1)[0] == -2

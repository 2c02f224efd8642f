"""Window arithmetic: local calendar days of the site, stored as exact UTC instants across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ecrf.site_time import local_date, local_midnight
from visits.schedule import visit_window

MADRID = "Europe/Madrid"
SANTIAGO = "America/Santiago"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "zone", "instant"),
    [
        (date(2026, 3, 28), MADRID, utc(2026, 3, 27, 23)),  # CET, UTC+1
        (date(2026, 3, 29), MADRID, utc(2026, 3, 28, 23)),  # clocks go forward at 02:00 that day
        (date(2026, 3, 30), MADRID, utc(2026, 3, 29, 22)),  # CEST, UTC+2
        (date(2026, 10, 25), MADRID, utc(2026, 10, 24, 22)),  # back to CET at 03:00 that day
        (date(2026, 10, 26), MADRID, utc(2026, 10, 25, 23)),
        (date(2026, 4, 4), SANTIAGO, utc(2026, 4, 4, 3)),  # summer time, UTC-3
        (date(2026, 4, 5), SANTIAGO, utc(2026, 4, 5, 4)),  # 24:00 on 4 April repeats 23:00
        (date(2026, 9, 5), SANTIAGO, utc(2026, 9, 5, 4)),  # winter time, UTC-4
        (date(2026, 9, 6), SANTIAGO, utc(2026, 9, 6, 4)),  # 00:00 is skipped: the day starts 01:00
        (date(2026, 9, 7), SANTIAGO, utc(2026, 9, 7, 3)),
    ],
)
def test_local_midnight_is_the_first_instant_of_the_local_day(day, zone, instant) -> None:
    assert local_midnight(day, zone) == instant
    assert local_midnight(day, zone).tzinfo == UTC
    assert local_date(instant, zone) == day


def test_madrid_window_across_the_march_change() -> None:
    # Week 1 of a participant with Day 0 on 20 March 2026: day 7 +/- 2.
    window = visit_window(
        day0=date(2026, 3, 20), day=7, window_before=2, window_after=2, time_zone=MADRID
    )
    assert window.target_date == date(2026, 3, 27)
    assert window.opens_at == utc(2026, 3, 24, 23)  # 25 March 00:00 CET
    assert window.closes_at == utc(2026, 3, 29, 22)  # 30 March 00:00 CEST


def test_madrid_window_across_the_october_change() -> None:
    window = visit_window(
        day0=date(2026, 10, 1), day=28, window_before=3, window_after=3, time_zone=MADRID
    )
    assert window.target_date == date(2026, 10, 29)
    assert window.opens_at == utc(2026, 10, 25, 23)  # 26 October 00:00 CET
    window = visit_window(
        day0=date(2026, 10, 1), day=21, window_before=3, window_after=3, time_zone=MADRID
    )
    assert window.opens_at == utc(2026, 10, 18, 22)  # 19 October 00:00 CEST
    assert window.closes_at == utc(2026, 10, 25, 23)  # 26 October 00:00 CET


def test_santiago_windows_across_the_april_and_september_changes() -> None:
    april = visit_window(
        day0=date(2026, 3, 5), day=30, window_before=7, window_after=7, time_zone=SANTIAGO
    )
    assert april.target_date == date(2026, 4, 4)
    assert april.opens_at == utc(2026, 3, 28, 3)  # UTC-3
    assert april.closes_at == utc(2026, 4, 12, 4)  # UTC-4
    september = visit_window(
        day0=date(2026, 3, 5), day=180, window_before=14, window_after=14, time_zone=SANTIAGO
    )
    assert september.target_date == date(2026, 9, 1)
    assert september.opens_at == utc(2026, 8, 18, 4)  # UTC-4
    assert september.closes_at == utc(2026, 9, 16, 3)  # UTC-3


def test_single_day_windows_last_as_long_as_the_local_day() -> None:
    long_day = visit_window(
        day0=date(2026, 4, 4), day=0, window_before=0, window_after=0, time_zone=SANTIAGO
    )
    assert long_day.closes_at - long_day.opens_at == timedelta(hours=25)
    short_day = visit_window(
        day0=date(2026, 9, 6), day=0, window_before=0, window_after=0, time_zone=SANTIAGO
    )
    assert (short_day.opens_at, short_day.closes_at) == (utc(2026, 9, 6, 4), utc(2026, 9, 7, 3))
    assert short_day.closes_at - short_day.opens_at == timedelta(hours=23)
    spring = visit_window(
        day0=date(2026, 3, 29), day=0, window_before=0, window_after=0, time_zone=MADRID
    )
    assert (spring.opens_at, spring.closes_at) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))


def test_negative_days_count_back_from_day_0() -> None:
    window = visit_window(
        day0=date(2026, 3, 20), day=-7, window_before=0, window_after=7, time_zone=MADRID
    )
    assert window.target_date == date(2026, 3, 13)
    assert window.opens_at == utc(2026, 3, 12, 23)
    assert window.closes_at == utc(2026, 3, 20, 23)


def test_contains_takes_the_whole_last_day_and_not_the_next() -> None:
    window = visit_window(
        day0=date(2026, 3, 20), day=7, window_before=2, window_after=2, time_zone=MADRID
    )
    assert not window.contains(date(2026, 3, 24), MADRID)
    assert window.contains(date(2026, 3, 25), MADRID)
    assert window.contains(date(2026, 3, 29), MADRID)  # the last day, a 23-hour day
    assert not window.contains(date(2026, 3, 30), MADRID)
    september = visit_window(
        day0=date(2026, 3, 5), day=180, window_before=14, window_after=14, time_zone=SANTIAGO
    )
    assert september.contains(date(2026, 8, 18), SANTIAGO)
    assert not september.contains(date(2026, 8, 17), SANTIAGO)
    assert september.contains(date(2026, 9, 15), SANTIAGO)
    assert not september.contains(date(2026, 9, 16), SANTIAGO)

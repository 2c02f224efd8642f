"""A site's calendar: the local date of an instant, the instant a local day starts (UTC), and
the instant a wall-clock time at the site stands for."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext


def local_midnight(day: date, time_zone: str) -> datetime:
    """The instant a local calendar day starts at the site, in UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def local_date(instant: datetime, time_zone: str) -> date:
    """The calendar day at the site when `instant` happened."""
    return instant.astimezone(ZoneInfo(time_zone)).date()


def offset_text(offset: timedelta | None) -> str:
    """A UTC offset as written in ISO 8601: +02:00, -03:00."""
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


class LocalTimeError(ValueError):
    """A wall-clock time that names no single instant at the site: the clocks skipped it, or
    showed it twice. `earlier` and `later` are the offsets before and after the change."""

    def __init__(self, message: str, *, earlier: str, later: str) -> None:
        super().__init__(message)
        self.message = message
        self.earlier = earlier
        self.later = later


class NonexistentLocalTime(LocalTimeError):
    pass


class AmbiguousLocalTime(LocalTimeError):
    pass


def local_instant(wall: datetime, time_zone: str) -> datetime:
    """The instant a time read off the site's clock stands for, aware in the site's zone.

    Raise NonexistentLocalTime for a time the clocks skipped when they went forward, and
    AmbiguousLocalTime for one they showed twice when they went back: guessing would store an
    instant an hour away from the one meant.
    """
    zone = ZoneInfo(time_zone)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    earlier, later = offset_text(first.utcoffset()), offset_text(second.utcoffset())
    # Worded now, in the language of whoever typed the time.
    words = {
        "time": f"{wall:%H:%M}",
        "day": f"{wall:%Y-%m-%d}",
        "zone": time_zone,
        "earlier": earlier,
        "later": later,
    }
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise NonexistentLocalTime(
            gettext(
                "%(time)s on %(day)s does not exist in %(zone)s: the clocks went forward that "
                "night (UTC%(earlier)s to UTC%(later)s) and skipped it. Check the time written "
                "down."
            )
            % words,
            earlier=earlier,
            later=later,
        )
    raise AmbiguousLocalTime(
        gettext(
            "%(time)s on %(day)s happens twice in %(zone)s: the clocks went back that night "
            "(UTC%(earlier)s to UTC%(later)s)."
        )
        % words,
        earlier=earlier,
        later=later,
    )


def site_clock_text(instant: datetime, time_zone: str) -> str:
    """An instant as read on the site's clock, with the zone named: 2026-04-19 09:30
    (Europe/Madrid)."""
    return f"{instant.astimezone(ZoneInfo(time_zone)):%Y-%m-%d %H:%M} ({time_zone})"

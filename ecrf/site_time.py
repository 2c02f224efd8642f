"""A site's calendar: the local date of an instant, and the instant a local day starts (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def local_midnight(day: date, time_zone: str) -> datetime:
    """The instant a local calendar day starts at the site, in UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def local_date(instant: datetime, time_zone: str) -> date:
    """The calendar day at the site when `instant` happened."""
    return instant.astimezone(ZoneInfo(time_zone)).date()

"""Schedule arithmetic: target dates and window instants in a site's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ecrf.site_time import local_midnight


@dataclass(frozen=True)
class Window:
    target_date: date
    opens_at: datetime
    closes_at: datetime
    overdue_at: datetime | None = None

    def contains(self, day: date, time_zone: str) -> bool:
        """Whether a visit on `day` (a local date at the site) lies inside the window."""
        start = local_midnight(day, time_zone)
        return self.opens_at <= start < self.closes_at


def visit_window(
    *, day0: date, day: int, window_before: int, window_after: int, time_zone: str
) -> Window:
    """The window of a visit on protocol `day`: from the start of its first local calendar day
    to the start of the day after its last, so a visit any time on the last day is in window."""
    target = day0 + timedelta(days=day)
    opens = local_midnight(target - timedelta(days=window_before), time_zone)
    closes = local_midnight(target + timedelta(days=window_after + 1), time_zone)
    overdue = local_midnight(target + timedelta(days=1), time_zone)
    return Window(target_date=target, opens_at=opens, closes_at=closes, overdue_at=overdue)

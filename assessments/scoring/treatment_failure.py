"""Treatment failure: the events after Day 0 from whose date on the renal response is a
non-response, whatever the numbers and under every rule set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from assessments.scoring.base import fmt, positive, to_count
from assessments.scoring.errors import ScoringInputError

# Each event the site records, or the eCRF derives, by its stable code.
EVENT_LABELS = {
    "renal_flare": "renal flare",
    "dialysis": "chronic dialysis",
    "kidney_transplant": "kidney transplant",
    "death": "death",
    "creatinine_doubling": "sustained doubling of serum creatinine",
}
DOUBLING_RATIO = Decimal(2)


@dataclass(frozen=True, slots=True)
class FailureEvent:
    """An event that makes the response NR on and after `day`, with the sentence saying so."""

    kind: str
    day: date
    text: str


def failure_event(kind: str, day: date) -> FailureEvent:
    """An event dated as the site recorded it: renal flare, kidney transplant, death."""
    if kind not in EVENT_LABELS:
        raise ScoringInputError("kind", f"unknown treatment failure event {kind!r}")
    return FailureEvent(kind, day, f"{EVENT_LABELS[kind]} on {day:%Y-%m-%d}")


def dialysis_failure(start: date, end: date | None, *, min_days: int) -> FailureEvent | None:
    """Dialysis started on `start` counts once it has lasted `min_days` days (chronic), from
    `start` + `min_days` on; dialysis that ended (`end`) earlier than that never counts."""
    days = to_count(min_days, "dialysis_min_days")
    if days == 0:
        raise ScoringInputError("dialysis_min_days", "must be at least 1")
    if end is not None and end < start:
        raise ScoringInputError("dialysis_end", "dialysis cannot end before it started")
    chronic_on = start + timedelta(days=days)
    if end is not None and end < chronic_on:
        return None
    return FailureEvent(
        "dialysis",
        chronic_on,
        f"{EVENT_LABELS['dialysis']}: dialysis from {start:%Y-%m-%d} lasting {days} days or "
        f"more by {chronic_on:%Y-%m-%d}",
    )


def sustained_doubling(
    values: Sequence[tuple[date, Decimal]], baseline_mg_dl: Decimal, *, confirm_weeks: int
) -> FailureEvent | None:
    """Serum creatinine (mg/dL, after Day 0) at least twice `baseline_mg_dl` at consecutive
    assessments, the last at least `confirm_weeks` weeks after the first of the run: the
    failure is dated at the assessment that confirms it. A value below twice the baseline ends
    the run; one doubled value alone never counts."""
    weeks = to_count(confirm_weeks, "doubling_confirm_weeks")
    if weeks == 0:
        raise ScoringInputError("doubling_confirm_weeks", "must be at least 1")
    threshold = DOUBLING_RATIO * positive(baseline_mg_dl, "baseline_mg_dl")
    run_start: date | None = None
    for day, value in sorted(values):
        if value < threshold:
            run_start = None
        elif run_start is None:
            run_start = day
        elif (day - run_start).days >= 7 * weeks:
            return FailureEvent(
                "creatinine_doubling",
                day,
                f"{EVENT_LABELS['creatinine_doubling']}: at least {fmt(threshold)} mg/dL "
                f"(2 x baseline {fmt(baseline_mg_dl)}) from {run_start:%Y-%m-%d} to "
                f"{day:%Y-%m-%d}, at least {weeks} weeks apart",
            )
    return None


def failure_on(events: Iterable[FailureEvent | None], day: date) -> FailureEvent | None:
    """The earliest event dated on or before `day`, if any."""
    found = [event for event in events if event is not None and event.day <= day]
    return min(found, key=lambda event: (event.day, event.kind)) if found else None

"""The context edit checks see, the checks they produce, and the date checks every form shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext, gettext_noop

from ecrf.messages import Text, decimal_text
from ecrf.site_time import AmbiguousLocalTime, LocalTimeError, local_date
from trials.models import Participant
from trials.protocol import ProtocolDefinition
from visits.models import Visit

OUTSIDE_CALENDAR = gettext_noop("The date and time lie outside the calendar.")


def within_calendar(instant: datetime, time_zone: str) -> bool:
    """Whether an aware instant has a date both in UTC and at the site: within a zone's offset
    of 0001-01-01 or 9999-12-31 it has not, and reading it would overflow."""
    try:
        instant.astimezone(UTC)
        instant.astimezone(ZoneInfo(time_zone))
    except OverflowError:
        return False
    return True


def before_consent(consent_date: date, *, time: bool = False) -> str:
    """The error for a date (or time) before informed consent, in the language of the reader."""
    template = (
        gettext("The time is before informed consent (%(consent)s).")
        if time
        else gettext("The date is before informed consent (%(consent)s).")
    )
    return template % {"consent": f"{consent_date:%Y-%m-%d}"}


def local_time_problem(error: LocalTimeError) -> str:
    """What to tell whoever gave a time without an offset that the site's clock skipped or
    showed twice."""
    if isinstance(error, AmbiguousLocalTime):
        return gettext("%(problem)s Give the time with its offset (%(earlier)s or %(later)s).") % {
            "problem": error.message,
            "earlier": error.earlier,
            "later": error.later,
        }
    return error.message


@dataclass
class FormContext:
    participant: Participant
    visit: Visit | None
    definition: ProtocolDefinition
    now: datetime
    consent_date: date | None
    actor_roles: frozenset[str] = frozenset()
    # The entered record of another form at a visit, `(form_code, visit) -> record or None`,
    # for callers that hold the rows in memory; otherwise the rules read the database.
    records: Callable[[str, Any], Any] | None = None
    # The record's fields as stored before this change; empty for a first entry.
    stored: Mapping[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> date:
        """Today at the site: 'not in the future' is judged on the site's calendar."""
        return local_date(self.now, self.participant.site.time_zone)

    def parameter(self, name: str, default: Any) -> Any:
        parameter = self.definition.parameters.get(name)
        return default if parameter is None else parameter.value


@dataclass
class Checks:
    """Hard errors refuse the save; warnings are kept with the data."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    # {"field", "message": the English text, and for a `Text` its "template" and "params",
    # from which pages and the API word it in the reader's language}.
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def error(self, name: str, message: str | Text) -> None:
        # Errors are answered at once, in the language of whoever saves.
        self.errors.setdefault(name, []).append(str(message))

    def warn(self, name: str, message: str | Text) -> None:
        if isinstance(message, Text):
            self.warnings.append(
                {
                    "field": name,
                    "message": message.english,
                    "template": message.template,
                    "params": message.params,
                }
            )
        else:
            self.warnings.append({"field": name, "message": message})


def check_dates(instance: Any, fields: tuple[str, ...], ctx: FormContext, checks: Checks) -> None:
    """Not in the future, not before consent; outside the visit window is a warning."""
    visit = ctx.visit
    for name in fields:
        value = getattr(instance, name, None)
        if value is None:
            continue
        day = (
            value
            if not isinstance(value, datetime)
            else local_date(value, ctx.participant.site.time_zone)
        )
        if day > ctx.today:
            checks.error(name, gettext("The date is in the future."))
        if ctx.consent_date is not None and day < ctx.consent_date:
            checks.error(name, before_consent(ctx.consent_date))
        if (
            visit is not None
            and visit.window_opens_at is not None
            and visit.window_closes_at is not None
        ):
            from visits.schedule import Window

            window = Window(visit.target_date or day, visit.window_opens_at, visit.window_closes_at)
            if not window.contains(day, ctx.participant.site.time_zone):
                checks.warn(
                    name,
                    Text(
                        gettext_noop("The date lies outside the window of visit %(visit)s."),
                        visit=visit.code,
                    ),
                )


def check_range(
    instance: Any,
    name: str,
    checks: Checks,
    *,
    hard: tuple[float, float] | None = None,
    soft: tuple[float, float] | None = None,
    unit: str = "",
) -> None:
    """Impossible values are refused; unusual ones are accepted with a warning."""
    value = getattr(instance, name, None)
    if value is None:
        return
    number = float(value)
    if hard is not None and not hard[0] <= number <= hard[1]:
        impossible = (
            gettext("%(value)s %(unit)s is impossible here (allowed %(low)s to %(high)s).")
            if unit
            else gettext("%(value)s is impossible here (allowed %(low)s to %(high)s).")
        )
        checks.error(
            name,
            impossible
            % {
                "value": decimal_text(f"{number:g}"),
                "unit": gettext(unit),
                "low": decimal_text(f"{hard[0]:g}"),
                "high": decimal_text(f"{hard[1]:g}"),
            },
        )
    elif soft is not None and not soft[0] <= number <= soft[1]:
        unusual = (
            gettext_noop(
                "%(value)s %(unit)s is unusual (expected %(low)s to %(high)s); please confirm."
            )
            if unit
            else gettext_noop(
                "%(value)s is unusual (expected %(low)s to %(high)s); please confirm."
            )
        )
        checks.warn(name, Text(unusual, value=number, unit=unit, low=soft[0], high=soft[1]))

"""Checks shared by the clinical forms: typed inputs, partial dates, historical dates."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.timezone import is_naive
from django.utils.translation import gettext

from assessments.models.base import PARTIAL_DATE
from assessments.rules.base import (
    OUTSIDE_CALENDAR,
    Checks,
    FormContext,
    local_time_problem,
    within_calendar,
)
from ecrf.site_time import LocalTimeError, local_instant


def coerce(instance: Any, names: Iterable[str], ctx: FormContext, checks: Checks) -> bool:
    """Turn each input into its field's Python type, refusing what cannot be one.

    Values arrive typed from the API and as text from other callers; a float becomes a
    Decimal through its shortest repr, and a time without a zone is the site's local time.
    Return whether every field could be read.
    """
    ok = True
    for name in names:
        field = instance._meta.get_field(name)
        value = getattr(instance, name)
        if isinstance(value, str):
            value = value.strip()
            if value == "" and field.null:
                value = None
        if isinstance(value, float) and isinstance(field, models.DecimalField):
            value = Decimal(repr(value))
        try:
            value = field.to_python(value)
        except ValidationError as error:
            checks.error(name, " ".join(error.messages))
            ok = False
            continue
        if isinstance(value, datetime):
            if is_naive(value):
                try:
                    value = local_instant(value, ctx.participant.site.time_zone)
                except LocalTimeError as error:
                    checks.error(name, local_time_problem(error))
                    ok = False
                    continue
            if not within_calendar(value, ctx.participant.site.time_zone):
                checks.error(name, gettext(OUTSIDE_CALENDAR))
                ok = False
                continue
        if field.choices and value not in (None, ""):
            accepted = [str(key) for key, _label in field.flatchoices]
            if str(value) not in accepted:
                checks.error(
                    name,
                    gettext("%(value)s is not accepted here; use one of: %(choices)s.")
                    % {"value": value, "choices": ", ".join(accepted)},
                )
                ok = False
                continue
        if value not in (None, ""):
            try:
                field.run_validators(value)
            except ValidationError as error:
                checks.error(name, " ".join(error.messages))
                ok = False
                continue
        setattr(instance, name, value)
    return ok


def partial_bounds(value: str) -> tuple[date, date]:
    """The first and last day a partial date (YYYY, YYYY-MM, YYYY-MM-DD) may stand for.

    Raise ValueError when it is not a real date in one of those forms; nothing is imputed.
    """
    try:
        PARTIAL_DATE(value)
    except ValidationError:
        raise ValueError(value) from None
    parts = [int(part) for part in value.split("-")]
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    if len(parts) == 2:
        return date(parts[0], parts[1], 1), date(
            parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1]
        )
    day = date(parts[0], parts[1], parts[2])
    return day, day


def check_partial_date(
    instance: Any, name: str, ctx: FormContext, checks: Checks
) -> tuple[date, date] | None:
    """A partial date that is real, not in the future and not before birth; its bounds."""
    value = getattr(instance, name)
    if value in (None, ""):
        return None
    try:
        bounds = partial_bounds(str(value))
    except ValueError:
        checks.error(name, gettext("Give a real date as YYYY, YYYY-MM or YYYY-MM-DD."))
        return None
    if bounds[0] > ctx.today:
        checks.error(name, gettext("The date is in the future."))
    if bounds[1] < ctx.participant.date_of_birth:
        checks.error(name, gettext("The date is before the participant's birth."))
    return bounds


def check_past_date(instance: Any, name: str, ctx: FormContext, checks: Checks) -> None:
    """A historical date (before consent allowed): not in the future, not before birth."""
    value = getattr(instance, name)
    if value is None:
        return
    if value > ctx.today:
        checks.error(name, gettext("The date is in the future."))
    elif value < ctx.participant.date_of_birth:
        checks.error(name, gettext("The date is before the participant's birth."))


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (or earlier), clipped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def whole_months_between(earlier: date, later: date) -> int:
    """Completed calendar months from `earlier` to `later`."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if add_months(earlier, months) > later:
        months -= 1
    return months


def age_on(date_of_birth: date, day: date) -> int:
    """Age in completed years on `day`."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - int(before_birthday)


def previous_values(instance: Any, names: Iterable[str]) -> dict[str, Any]:
    """The stored values of a form being changed (empty for a new one)."""
    if instance.pk is None:
        return {}
    row = type(instance).objects.filter(pk=instance.pk).values(*names).first()
    return row or {}


def show(value: Decimal | None) -> str:
    """A number as a person writes it: 150 rather than 150.0, 3.2 rather than 3.2000."""
    if value is None:
        return "?"
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text

"""SLEDAI-2K total from investigator-confirmed descriptors, for a 10- or 30-day window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from assessments.scoring.base import Calculator, to_count, to_flag
from assessments.scoring.errors import ScoringInputError
from assessments.scoring.sledai_descriptors import (
    DESCRIPTORS_BY_CODE,
    SEROLOGY_CODES,
    Descriptor,
)

SLEDAI_2K = Calculator(name="SLEDAI-2K", version="1.0")
DEFAULT_WINDOW_DAYS = 10
ALLOWED_WINDOWS: tuple[int, ...] = (10, 30)


@dataclass(frozen=True, slots=True)
class DescriptorInput:
    """The investigator's answer for one descriptor.

    `attributable_to_sle` is required (True) for descriptors with an exclusion clause and must
    stay None for the others. `days_before_visit` dates the most recent occurrence; None means
    present at the visit itself.
    """

    code: str
    present: bool
    attributable_to_sle: bool | None = None
    days_before_visit: int | None = None


@dataclass(frozen=True, slots=True)
class Contribution:
    """A descriptor that scored, with the weight it added."""

    code: str
    weight: int


@dataclass(frozen=True, slots=True)
class NotScored:
    """A descriptor marked present that did not score, and why."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class SledaiResult:
    """A SLEDAI-2K total; compare only with totals that share `window_days`."""

    calculator: str
    version: str
    window_days: int
    total: int
    contributions: tuple[Contribution, ...]
    not_scored: tuple[NotScored, ...]

    @property
    def clinical_total(self) -> int:
        """The optional "clinical SLEDAI": the total without low complement and anti-dsDNA."""
        return sum(c.weight for c in self.contributions if c.code not in SEROLOGY_CODES)

    @property
    def evaluation_interval(self) -> str:
        """ISO 8601 look-back for SDTM RSEVLINT, e.g. -P10D."""
        return f"-P{self.window_days}D"


def _check_window(window_days: object) -> int:
    if (
        isinstance(window_days, bool)
        or not isinstance(window_days, int)
        or window_days not in ALLOWED_WINDOWS
    ):
        raise ScoringInputError(
            "window_days", f"must be 10 or 30 (validated SLEDAI-2K windows), got {window_days!r}"
        )
    return window_days


def _validated(item: DescriptorInput, seen: set[str]) -> tuple[Descriptor, DescriptorInput]:
    code = item.code
    descriptor = DESCRIPTORS_BY_CODE.get(code) if isinstance(code, str) else None
    if descriptor is None:
        raise ScoringInputError("code", f"unknown SLEDAI-2K descriptor code {code!r}")
    if code in seen:
        raise ScoringInputError(f"{code}.code", "descriptor given more than once")
    seen.add(code)
    to_flag(item.present, f"{code}.present")
    to_flag(item.attributable_to_sle, f"{code}.attributable_to_sle", optional=True)
    if item.days_before_visit is not None:
        to_count(item.days_before_visit, f"{code}.days_before_visit")
    if not descriptor.has_exclusion and item.attributable_to_sle is not None:
        # A flag on an item without an exclusion clause means the form and table disagree.
        raise ScoringInputError(
            f"{code}.attributable_to_sle", f"{code} has no exclusion clause; leave it empty"
        )
    return descriptor, item


def _why_not(descriptor: Descriptor, item: DescriptorInput, window_days: int) -> str | None:
    """Return the reason a present descriptor does not score, or None if it scores."""
    if descriptor.has_exclusion and item.attributable_to_sle is not True:
        if item.attributable_to_sle is False:
            return "present but not attributable to SLE"
        return "present but attribution to SLE not confirmed"
    days = item.days_before_visit
    # The window includes its last day: with 10 days, an event 10 days before still counts.
    if days is not None and days > window_days:
        return f"last present {days} days before the visit, outside the {window_days}-day window"
    return None


def score_sledai2k(
    items: Iterable[DescriptorInput], *, window_days: int = DEFAULT_WINDOW_DAYS
) -> SledaiResult:
    """Score SLEDAI-2K; descriptors not listed count as absent."""
    window = _check_window(window_days)
    seen: set[str] = set()
    contributions: list[Contribution] = []
    not_scored: list[NotScored] = []
    for descriptor, item in sorted(
        (_validated(item, seen) for item in items), key=lambda pair: pair[0].number
    ):
        if not item.present:
            continue
        reason = _why_not(descriptor, item, window)
        if reason is None:
            contributions.append(Contribution(descriptor.code, descriptor.weight))
        else:
            not_scored.append(NotScored(descriptor.code, reason))
    return SledaiResult(
        calculator=SLEDAI_2K.name,
        version=SLEDAI_2K.version,
        window_days=window,
        total=sum(c.weight for c in contributions),
        contributions=tuple(contributions),
        not_scored=tuple(not_scored),
    )

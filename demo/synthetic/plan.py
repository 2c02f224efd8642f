"""The synthetic trial as a plan: the mix of outcomes, each participant's events and visits."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from demo.synthetic.staff import Staff
from ecrf.errors import DomainError
from ecrf.site_time import local_date
from trials.models import Cohort, ProtocolVersion, Site, Trial
from trials.protocol import ProtocolDefinition
from trials.protocol import Visit as VisitSpec

# Participants are registered over this many days, ending this many days before the cut-off.
ACCRUAL_DAYS = 730
ACCRUAL_ENDS_BEFORE = 7
# A dose-escalation cohort is reviewed this many days after its last member's Day 0.
REVIEW_AFTER_DAYS = 28


class SyntheticError(DomainError):
    """The trial cannot take the synthetic data asked for."""

    code = "synthetic"


@dataclass(frozen=True)
class Mix:
    """How often each thing happens; the defaults give a plausible trial."""

    screen_fail: float = 0.12
    withdraw: float = 0.06
    lost: float = 0.02
    missed_visit: float = 0.04
    out_of_window: float = 0.04
    decline_optional: float = 0.3
    adverse_events: float = 1.5
    serious: float = 0.05
    correction: float = 0.06
    rescue: float = 0.05
    manual_deviation: float = 0.04


@dataclass
class Event:
    """One call of a service: when, what, by whom, at which visit, on which record."""

    at: datetime
    kind: str
    actor: str = "coordinator"
    visit: str = ""
    form: str = ""
    key: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass
class VisitPlan:
    spec: VisitSpec
    target: date
    actual: date | None = None
    # attended, missed (left for the visit job to flag), not_done, or skipped after the end
    outcome: str = "skipped"
    out_of_window: bool = False
    not_done_at: datetime | None = None


@dataclass
class ParticipantPlan:
    ordinal: int
    site: Site
    sex: str
    date_of_birth: date
    registered_at: datetime
    decided_at: datetime
    fail_code: str = ""
    in_cohort: bool = False
    randomized_at: datetime | None = None
    day0: date | None = None
    visits: list[VisitPlan] = field(default_factory=list)
    # (kind, at, reason): withdraw, lost or complete
    end: tuple[str, datetime, str] | None = None
    screening_number: str = ""
    subject_id: str = ""
    stratum: str = ""
    strata_values: dict[str, str] = field(default_factory=dict)
    slot_id: int | None = None
    randomization_number: str = ""
    arm_code: str = ""
    cohort: Cohort | None = None
    events: list[Event] = field(default_factory=list)

    def visit(self, code: str) -> VisitPlan:
        return next(visit for visit in self.visits if visit.spec.code == code)


@dataclass
class TrialContext:
    trial: Trial
    version: ProtocolVersion
    definition: ProtocolDefinition
    sites: list[Site]
    staff: Staff
    cutoff: datetime
    seed: int
    mix: Mix

    def rng(self, ordinal: int, stream: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.trial.code}:{ordinal}:{stream}")

    @property
    def randomization_visit(self) -> VisitSpec | None:
        return next((v for v in self.definition.visits if v.kind == "randomization"), None)

    @property
    def schedule(self) -> list[VisitSpec]:
        """The visits made at Day 0: all but screening and the randomization visit."""
        skip = ("screening", "randomization")
        return [v for v in self.definition.visits if v.kind not in skip]


@dataclass
class TrialPlan:
    participants: list[ParticipantPlan]
    # Trial-level events (safety reviews), in time order.
    events: list[Event]
    # The last screening and subject numbers handed out per site once the plan is written.
    counters: dict[tuple[int, str], int] = field(default_factory=dict)


def local_at(day: date, time_zone: str, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a local time of day at the site (office hours, clear of DST gaps)."""
    naive = datetime.combine(day, time(hour)) + timedelta(minutes=minute)
    return naive.replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def local_day(instant: datetime, site: Site) -> date:
    return local_date(instant, site.time_zone)

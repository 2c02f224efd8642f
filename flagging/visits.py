"""The visit job: windows that opened, visits overdue, visits missed.

Modelled on a missed check-in detector: the deadline is stored on the visit (with partial
indexes on open visits), each step takes one batch of due visits under row locks that other
workers skip, re-checks and changes their state by compare-and-set with history, and dates each
flag at the deadline that passed. The batch is written set-based, a handful of statements
whatever its size: the status change, its history, and for overdue and missed visits the alerts
and deviation drafts with theirs, unique constraints keeping each finding to one row. A batch
that fails is retried one visit at a time, and a visit that still fails is deferred and logged
without holding up the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import CharField, DateField, Expression, F, Func, QuerySet, Value
from django.db.models.functions import Cast, Concat, JSONObject
from django.utils.translation import gettext_noop

from accounts.services import system_actor
from alerts.models import AlertKind
from alerts.services import alerts_email_pending, alerts_raise_from
from assessments.deviations import deviations_draft_from
from assessments.models.deviation import DeviationCategory
from ecrf.bulk import Among, Stamp, update_from
from ecrf.services import heartbeat_record
from review.models import Lock, LockLevel
from trials.models import ParticipantStatus
from visits.models import Visit, VisitStatus

logger = logging.getLogger(__name__)
JOB_NAME = "flag_visits"
DEFER = timedelta(hours=1)
ACTIVE = (
    ParticipantStatus.SCREENING,
    ParticipantStatus.ELIGIBLE,
    ParticipantStatus.RANDOMIZED,
    ParticipantStatus.ENROLLED,
    ParticipantStatus.ON_STUDY,
)
MISSED, OVERDUE, OPENED = "missed", "overdue", "opened"
REASONS = {
    MISSED: "Window closed without a recorded visit",
    OVERDUE: "Target date passed without a recorded visit",
    OPENED: "Visit window opened",
}
# Each change: the statuses it moves a visit from, the status it sets, the deadline it dates.
CHANGES: dict[str, tuple[tuple[str, ...], str, str | None]] = {
    MISSED: (
        (VisitStatus.SCHEDULED, VisitStatus.OPEN, VisitStatus.OVERDUE),
        VisitStatus.MISSED,
        "window_closes_at",
    ),
    OVERDUE: ((VisitStatus.SCHEDULED, VisitStatus.OPEN), VisitStatus.OVERDUE, "overdue_at"),
    OPENED: ((VisitStatus.SCHEDULED,), VisitStatus.OPEN, None),
}


@dataclass
class StepResult:
    opened: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.opened) + len(self.overdue) + len(self.missed)

    def add(self, other: StepResult) -> None:
        for name in ("opened", "overdue", "missed", "deferred"):
            getattr(self, name).extend(getattr(other, name))


def _unlocked(visits: QuerySet[Visit]) -> QuerySet[Visit]:
    """Visits whose data no active trial, site or participant lock holds: locked data change
    by no path, jobs included. The few active locks are read first and excluded by id, so the
    planner keeps the deadline index for the batch query (`NOT IN (subquery)` makes it guess
    too few due rows and sort them all instead)."""
    trials, sites, participants = set(), set(), set()
    for level, trial_id, site_id, participant_id in Lock.objects.filter(
        unlocked_at__isnull=True
    ).values_list("level", "trial_id", "site_id", "participant_id"):
        if level == LockLevel.TRIAL:
            trials.add(trial_id)
        elif level == LockLevel.SITE:
            sites.add(site_id)
        elif level == LockLevel.PARTICIPANT:
            participants.add(participant_id)
    return (
        visits.exclude(participant__trial_id__in=trials)
        .exclude(participant__site_id__in=sites)
        .exclude(participant_id__in=participants)
    )


def due(kind: str, now: datetime) -> QuerySet[Visit]:
    """The visits of active participants whose `kind` deadline has passed."""
    visits = _unlocked(
        Visit.objects.filter(participant__status__in=ACTIVE).exclude(flag_deferred_until__gt=now)
    )
    if kind == MISSED:
        return visits.filter(status__in=CHANGES[MISSED][0], window_closes_at__lte=now).order_by(
            "window_closes_at", "pk"
        )
    if kind == OVERDUE:
        return visits.filter(
            status__in=CHANGES[OVERDUE][0], overdue_at__lte=now, window_closes_at__gt=now
        ).order_by("overdue_at", "pk")
    return (
        visits.filter(
            status__in=CHANGES[OPENED][0], window_opens_at__lte=now, window_closes_at__gt=now
        )
        .exclude(overdue_at__lte=now)
        .order_by("window_opens_at", "pk")
    )


class LocalDate(Func):
    """The calendar date of an instant in the time zone another expression names, moved by
    `days`; a time zone the database does not know is an error, as it is in Python."""

    output_field = DateField()
    arity = 2

    def __init__(self, instant: Any, zone: Any, *, days: int = 0) -> None:
        super().__init__(instant, zone)
        self.days = int(days)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=f"((%(expressions)s)::date + {self.days})",
            arg_joiner=" AT TIME ZONE ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # The function Django registers on SQLite connections for dates in a time zone.
        return self.as_sql(
            compiler,
            connection,
            template=f"date(django_datetime_cast_date(%(expressions)s, 'UTC'), '{self.days} days')",
            **extra,
        )


class DayText(Func):
    """A date as YYYY-MM-DD text, whatever the database's date style."""

    output_field = CharField()
    arity = 1

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra)


def _window_text() -> Expression:
    """The visit's window in the site's local dates, first to last day: "2026-03-09 to
    2026-03-13"."""
    zone = F("participant__site__time_zone")
    return Concat(
        DayText(LocalDate("window_opens_at", zone)),
        Value(" to "),
        DayText(LocalDate("window_closes_at", zone, days=-1)),
        output_field=CharField(),
    )


def _window_params() -> Expression:
    """The parameters of a visit alert's message: the visit (its name a protocol text, read in
    the reader's language) and its window in the site's local dates."""
    zone = F("participant__site__time_zone")
    return JSONObject(
        code=F("code"),
        name=JSONObject(protocol=Value("visits"), code=F("code"), text=F("name")),
        first=DayText(LocalDate("window_opens_at", zone)),
        last=DayText(LocalDate("window_closes_at", zone, days=-1)),
    )


def _visit_text(*parts: Any) -> Expression:
    """'Visit W1 (Week 1) …' followed by `parts`."""
    return Concat(
        Value("Visit "), "code", Value(" ("), "name", Value(") "), *parts, output_field=CharField()
    )


def _compare_and_set(kind: str, ids: list[int], *, actor: Any, now: datetime) -> list[int]:
    """Move the visits `ids` still in a status `kind` moves from, with history; the ids of
    those that moved."""
    sources, target, deadline = CHANGES[kind]
    values: dict[str, Any] = {"status": target}
    if deadline:
        values["flagged_at"] = F(deadline)
    rows = update_from(
        Visit.objects.filter(Among("pk", ids), status__in=sources),
        values,
        stamp=Stamp(actor=actor, reason=REASONS[kind], now=now),
    )
    return [row[0] for row in rows]


def _apply(kind: str, ids: list[int], *, actor: Any, now: datetime) -> list[int]:
    """Change the locked visits `ids`, with history, alerts and deviation drafts."""
    changed = _compare_and_set(kind, ids, actor=actor, now=now) if ids else []
    if kind == OPENED or not changed:
        return changed
    # An optional visit left undone is neither an alert nor a deviation.
    required = Visit.objects.filter(Among("pk", changed), optional=False)
    alert_kind = AlertKind.VISIT_MISSED if kind == MISSED else AlertKind.VISIT_OVERDUE
    finding = "was not done within its window" if kind == MISSED else "is past its target date"
    template = (
        gettext_noop(
            "Visit %(code)s (%(name)s) was not done within its window (%(first)s to %(last)s)."
        )
        if kind == MISSED
        else gettext_noop(
            "Visit %(code)s (%(name)s) is past its target date (%(first)s to %(last)s)."
        )
    )
    alerts_raise_from(
        required,
        {
            "kind": alert_kind,
            "source_key": Concat(Value(f"{alert_kind}:"), Cast("pk", CharField())),
            "trial_id": F("participant__trial_id"),
            "site_id": F("participant__site_id"),
            "participant_id": F("participant_id"),
            "visit_id": F("pk"),
            "occurred_at": F("flagged_at"),
            "message": _visit_text(Value(f"{finding} ("), _window_text(), Value(").")),
            "message_template": Value(template),
            "message_params": _window_params(),
        },
        actor=actor,
        now=now,
    )
    if kind == MISSED:
        deviations_draft_from(
            required,
            {
                "category": DeviationCategory.MISSED_VISIT,
                "source_key": Concat(Value("missed_visit:"), Cast("pk", CharField())),
                "occurred_on": LocalDate(
                    "window_closes_at", F("participant__site__time_zone"), days=-1
                ),
                "description": _visit_text(
                    Value("was not done within its window ("), _window_text(), Value(").")
                ),
                # Worded as the missed visit's alert is.
                "description_template": Value(template),
                "description_params": _window_params(),
            },
            actor=actor,
            now=now,
        )
    return changed


def _claim(kind: str, now: datetime, limit: int) -> list[int]:
    """The next due visits, locked; rows another worker holds are skipped."""
    return list(
        due(kind, now)
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)[:limit]
    )


def _flag_batch(kind: str, *, now: datetime, limit: int, actor: Any) -> StepResult:
    try:
        with transaction.atomic():
            changed = _apply(kind, _claim(kind, now, limit), actor=actor, now=now)
            return StepResult(**{kind: changed})
    except Exception:
        logger.exception("Flagging a batch of %s visits failed; retrying one by one", kind)
        return _one_by_one(kind, now=now, limit=limit, actor=actor)


def _one_by_one(kind: str, *, now: datetime, limit: int, actor: Any) -> StepResult:
    result = StepResult()
    for pk in list(due(kind, now).values_list("pk", flat=True)[:limit]):
        try:
            with transaction.atomic():
                claimed = list(
                    due(kind, now)
                    .filter(pk=pk)
                    .select_for_update(skip_locked=True, of=("self",))
                    .values_list("pk", flat=True)
                )
                getattr(result, kind).extend(_apply(kind, claimed, actor=actor, now=now))
        except Exception:
            logger.exception(
                "Flagging visit %s as %s failed; deferred until %s", pk, kind, now + DEFER
            )
            Visit.objects.filter(pk=pk).update(flag_deferred_until=now + DEFER)
            result.deferred.append(pk)
    return result


def visits_flag_step(*, now: datetime, limit: int = 1000, actor: Any = None) -> StepResult:
    """One unit of work: the next batch of visits due for one change, missed before overdue
    before opened. Returns what changed; nothing when no visit is due."""
    actor = actor or system_actor()
    for kind in (MISSED, OVERDUE, OPENED):
        result = _flag_batch(kind, now=now, limit=limit, actor=actor)
        if result.changed or result.deferred:
            return result
    return StepResult()


def visits_flag_all(*, now: datetime, limit: int = 1000, budget_seconds: float = 240) -> StepResult:
    """Run steps until nothing is due or the time budget is spent, then e-mail any alert left
    pending and record that the job ran. Each step e-mails the alerts it raised as it commits."""
    actor = system_actor()
    total = StepResult()
    started = time.monotonic()
    while time.monotonic() - started < budget_seconds:
        step = visits_flag_step(now=now, limit=limit, actor=actor)
        total.add(step)
        if not step.changed:
            break
    while time.monotonic() - started < budget_seconds and alerts_email_pending(now=now):
        pass
    heartbeat_record(name=JOB_NAME, now=now)
    return total

"""The visit job: windows that opened, visits overdue, visits missed.

Modelled on a missed check-in detector: the deadline is stored on the visit (with partial
indexes on open visits), each step takes one batch of due visits under row locks that other
workers skip, re-checks and changes their state with history, and dates each flag at the
deadline that passed. A batch that fails is retried one visit at a time, and a visit that
still fails is deferred and logged without holding up the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from simple_history.utils import bulk_update_with_history

from accounts.services import system_actor
from alerts.models import AlertKind
from alerts.services import AlertSpec, alerts_email_pending, alerts_raise
from assessments.deviations import DeviationSpec, deviations_draft
from assessments.models.deviation import DeviationCategory
from ecrf.services import heartbeat_record
from review.locks import without_locked
from trials.models import ParticipantStatus
from visits.models import Visit, VisitStatus
from visits.schedule import local_date

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


def due(kind: str, now: datetime) -> QuerySet[Visit]:
    """The visits of active participants whose `kind` deadline has passed."""
    # Locked data change by no path, jobs included.
    visits = without_locked(
        Visit.objects.filter(participant__status__in=ACTIVE).exclude(flag_deferred_until__gt=now)
    )
    if kind == MISSED:
        return visits.filter(
            status__in=[VisitStatus.SCHEDULED, VisitStatus.OPEN, VisitStatus.OVERDUE],
            window_closes_at__lte=now,
        ).order_by("window_closes_at", "pk")
    if kind == OVERDUE:
        return visits.filter(
            status__in=[VisitStatus.SCHEDULED, VisitStatus.OPEN],
            overdue_at__lte=now,
            window_closes_at__gt=now,
        ).order_by("overdue_at", "pk")
    return (
        visits.filter(
            status=VisitStatus.SCHEDULED, window_opens_at__lte=now, window_closes_at__gt=now
        )
        .exclude(overdue_at__lte=now)
        .order_by("window_opens_at", "pk")
    )


def _window_text(visit: Visit) -> str:
    tz = visit.participant.site.time_zone
    assert visit.window_opens_at is not None and visit.window_closes_at is not None
    last_day = local_date(visit.window_closes_at, tz) - timedelta(days=1)
    return f"{local_date(visit.window_opens_at, tz):%Y-%m-%d} to {last_day:%Y-%m-%d}"


def _apply(kind: str, visits: list[Visit], *, actor: Any, now: datetime) -> None:
    for visit in visits:
        if kind == MISSED:
            visit.status, visit.flagged_at = VisitStatus.MISSED, visit.window_closes_at
        elif kind == OVERDUE:
            visit.status, visit.flagged_at = VisitStatus.OVERDUE, visit.overdue_at
        else:
            visit.status = VisitStatus.OPEN
    bulk_update_with_history(
        visits,
        Visit,
        ["status", "flagged_at"],
        default_user=actor,
        default_change_reason=REASONS[kind],
    )
    if kind == OPENED:
        return
    # An optional visit left undone is neither an alert nor a deviation.
    required = [visit for visit in visits if not visit.optional]
    alert_kind = AlertKind.VISIT_MISSED if kind == MISSED else AlertKind.VISIT_OVERDUE
    alerts_raise(
        [
            AlertSpec(
                kind=alert_kind,
                source_key=f"{alert_kind}:{visit.pk}",
                participant=visit.participant,
                visit_id=visit.pk,
                occurred_at=visit.flagged_at or now,
                message=(
                    f"Visit {visit.code} ({visit.name}) "
                    + (
                        "was not done within its window "
                        if kind == MISSED
                        else "is past its target date "
                    )
                    + f"({_window_text(visit)})."
                ),
            )
            for visit in required
        ],
        actor=actor,
        now=now,
    )
    if kind == MISSED:
        deviations_draft(
            [
                DeviationSpec(
                    visit=visit,
                    category=DeviationCategory.MISSED_VISIT,
                    source_key=f"missed_visit:{visit.pk}",
                    occurred_on=local_date(visit.window_closes_at, visit.participant.site.time_zone)
                    - timedelta(days=1),
                    description=f"Visit {visit.code} ({visit.name}) was not done within its "
                    f"window ({_window_text(visit)}).",
                )
                for visit in required
                if visit.window_closes_at is not None
            ],
            actor=actor,
            now=now,
        )


def _flag_batch(kind: str, *, now: datetime, limit: int, actor: Any) -> StepResult:
    try:
        with transaction.atomic():
            visits = list(
                due(kind, now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("participant__site")[:limit]
            )
            if visits:
                _apply(kind, visits, actor=actor, now=now)
            return StepResult(**{kind: [visit.pk for visit in visits]})
    except Exception:
        logger.exception("Flagging a batch of %s visits failed; retrying one by one", kind)
        return _one_by_one(kind, now=now, limit=limit, actor=actor)


def _one_by_one(kind: str, *, now: datetime, limit: int, actor: Any) -> StepResult:
    result = StepResult()
    for pk in list(due(kind, now).values_list("pk", flat=True)[:limit]):
        try:
            with transaction.atomic():
                visit = (
                    due(kind, now)
                    .select_for_update(skip_locked=True, of=("self",))
                    .select_related("participant__site")
                    .filter(pk=pk)
                    .first()
                )
                if visit is not None:
                    _apply(kind, [visit], actor=actor, now=now)
                    getattr(result, kind).append(pk)
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
    """Run steps until nothing is due or the time budget is spent, then send alert e-mails
    and record that the job ran."""
    actor = system_actor()
    total = StepResult()
    started = time.monotonic()
    while time.monotonic() - started < budget_seconds:
        step = visits_flag_step(now=now, limit=limit, actor=actor)
        total.add(step)
        if not step.changed:
            break
    while alerts_email_pending(now=now):
        pass
    heartbeat_record(name=JOB_NAME, now=now)
    return total

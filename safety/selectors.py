"""Reads for adverse events: scoped lists, one event, its report versions and the SAE clocks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Case, DateTimeField, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils.translation import gettext

from assessments.models.base import EntryStatus
from ecrf.access import SAE_CLOCK_ROLES
from ecrf.errors import NotFoundError
from safety.models import AdverseEvent
from safety.rules import ADVERSE_EVENTS, ClockState, clock_state
from trials.access import scope_queryset
from trials.models import Participant, Trial


def adverse_events(user: Any) -> QuerySet[AdverseEvent]:
    """Every adverse event `user` may read: their sites' events, or all of a trial's."""
    queryset = AdverseEvent.objects.select_related("participant", "participant__site", "visit")
    return scope_queryset(
        queryset, user, trial_field="participant__trial", site_field="participant__site"
    )


def participant_adverse_events(user: Any, participant: Participant) -> QuerySet[AdverseEvent]:
    return adverse_events(user).filter(participant=participant).order_by("entered_at", "pk")


@dataclass(frozen=True)
class CohortDlts:
    """The dose-limiting toxicities of a cohort: the count over every site (open-label, an
    aggregate the safety review decides on), the events themselves at the user's sites."""

    count: int
    events: list[AdverseEvent]


def cohort_dlts(user: Any, cohort: Any) -> CohortDlts:
    flagged = AdverseEvent.objects.filter(
        participant__cohort=cohort, dose_limiting=True, entry_status=EntryStatus.ENTERED
    )
    events = adverse_events(user).filter(pk__in=flagged.values("pk")).order_by("onset_date", "pk")
    return CohortDlts(count=flagged.count(), events=list(events))


def adverse_event_get(user: Any, pk: int) -> AdverseEvent:
    found = adverse_events(user).filter(pk=pk).first()
    if found is None:
        raise NotFoundError(gettext("There is no such adverse event, or it is not at your sites."))
    return found


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class AeVersion:
    version: int
    kind: str  # initial report | follow-up
    when: datetime
    who: str
    reason: str
    changes: tuple[FieldChange, ...]


def ae_versions(user: Any, ae: AdverseEvent) -> list[AeVersion]:
    """The initial report and each follow-up, oldest first, with who, when, why and what
    changed. Nothing on an AE reveals allocation, so every field is shown to every reader."""
    visible = adverse_event_get(user, ae.pk)
    names = (*ADVERSE_EVENTS.fields, *ADVERSE_EVENTS.derived)
    records = visible.history.order_by("history_date", "history_id")
    versions: list[AeVersion] = []
    previous = None
    for record in records:
        changes = tuple(
            FieldChange(name, getattr(previous, name) if previous else None, getattr(record, name))
            for name in names
            if (previous is None and getattr(record, name) not in (None, "", False))
            or (previous is not None and getattr(previous, name) != getattr(record, name))
        )
        versions.append(
            AeVersion(
                version=record.row_version,
                kind="initial report" if previous is None else "follow-up",
                when=record.history_date,
                who=record.history_actor(),
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
        previous = record
    return versions


@dataclass(frozen=True)
class SaeClock:
    ae: AdverseEvent
    sae_due_at: datetime | None
    sae_state: ClockState
    susar: bool
    susar_due_at: datetime | None
    susar_state: ClockState | None
    # The follow-up of a fatal or life-threatening SUSAR, 8 days after its initial report.
    susar_followup_due_at: datetime | None = None
    susar_followup_state: ClockState | None = None

    @property
    def participant(self) -> str:
        return self.ae.participant.identifier

    @property
    def site(self) -> str:
        return self.ae.participant.site.code

    @property
    def pending(self) -> bool:
        """A report is still to be made by someone."""
        return (
            self.sae_state in (ClockState.DUE, ClockState.OVERDUE)
            or self.susar_state in (ClockState.DUE, ClockState.OVERDUE, ClockState.NO_DEADLINE)
            or self.susar_followup_state in (ClockState.DUE, ClockState.OVERDUE)
        )


_URGENCY = {
    ClockState.OVERDUE: 0,
    ClockState.NO_DEADLINE: 1,
    ClockState.DUE: 2,
    ClockState.LATE: 3,
    ClockState.ON_TIME: 4,
}
# Above every urgency: a clock an event does not run.
_NO_CLOCK = len(_URGENCY)


def _urgency(due: str, reported: str, now: datetime) -> Case:
    """The urgency of one clock's state (`clock_state`) at `now`, in SQL."""
    return Case(
        When(**{f"{due}__isnull": True}, then=Value(_URGENCY[ClockState.NO_DEADLINE])),
        When(
            **{f"{reported}__isnull": False, f"{reported}__lte": F(due)},
            then=Value(_URGENCY[ClockState.ON_TIME]),
        ),
        When(**{f"{reported}__isnull": False}, then=Value(_URGENCY[ClockState.LATE])),
        When(**{f"{due}__lt": now}, then=Value(_URGENCY[ClockState.OVERDUE])),
        default=Value(_URGENCY[ClockState.DUE]),
    )


def sae_clock_events(
    user: Any,
    trial: Trial,
    now: datetime,
    *,
    pending_only: bool = False,
    site_id: int | None = None,
) -> QuerySet[AdverseEvent]:
    """The serious adverse events of `trial` that `user` may see (at `site_id` only, when
    given), most urgent first, ordered in the database so that a page of them is one query
    and a count: the most urgent state of their clocks at `now`, then the earliest deadline.
    `sae_clock_rows` turns a page of them into clocks."""
    queryset = scope_queryset(
        AdverseEvent.objects.filter(participant__trial=trial, serious=True).select_related(
            "participant", "participant__site"
        ),
        user,
        trial_field="participant__trial",
        site_field="participant__site",
        roles=SAE_CLOCK_ROLES,
    )
    if site_id is not None:
        queryset = queryset.filter(participant__site_id=site_id)
    if pending_only:
        # Those with a report still to make, as `SaeClock.pending` says, read from the
        # database so that the reported ones, nearly all, are not read at all.
        queryset = queryset.filter(
            Q(sae_report_due_at__isnull=False, sae_reported_at__isnull=True)
            | Q(susar=True, susar_due_at__isnull=True)
            | Q(susar=True, susar_reported_at__isnull=True)
            | Q(
                susar=True,
                susar_followup_due_at__isnull=False,
                susar_followup_reported_at__isnull=True,
            )
        )
    far = datetime.max.replace(tzinfo=UTC)
    susar = Q(susar=True)
    followup = Q(susar=True, susar_followup_due_at__isnull=False)
    return queryset.annotate(
        clock_urgency=Least(
            _urgency("sae_report_due_at", "sae_reported_at", now),
            Case(
                When(susar, then=_urgency("susar_due_at", "susar_reported_at", now)),
                default=Value(_NO_CLOCK),
            ),
            Case(
                When(
                    followup,
                    then=_urgency("susar_followup_due_at", "susar_followup_reported_at", now),
                ),
                default=Value(_NO_CLOCK),
            ),
        ),
        # The earliest deadline, `now` when there is none. Least() skips nulls on PostgreSQL
        # only: a missing deadline is put last by hand.
        clock_first_due=Case(
            When(
                sae_report_due_at__isnull=True,
                susar_due_at__isnull=True,
                susar_followup_due_at__isnull=True,
                then=Value(now),
            ),
            default=Least(
                Coalesce("sae_report_due_at", Value(far)),
                Coalesce("susar_due_at", Value(far)),
                Coalesce("susar_followup_due_at", Value(far)),
            ),
            output_field=DateTimeField(),
        ),
    ).order_by("clock_urgency", "clock_first_due", "pk")


def sae_clock_rows(events: Iterable[AdverseEvent], now: datetime) -> list[SaeClock]:
    """Where each clock of `events` (from `sae_clock_events`) stands at `now`, in their order."""
    return [
        SaeClock(
            ae=ae,
            sae_due_at=ae.sae_report_due_at,
            sae_state=clock_state(ae.sae_report_due_at, ae.sae_reported_at, now),
            susar=ae.susar,
            susar_due_at=ae.susar_due_at,
            susar_state=clock_state(ae.susar_due_at, ae.susar_reported_at, now)
            if ae.susar
            else None,
            susar_followup_due_at=ae.susar_followup_due_at,
            susar_followup_state=clock_state(
                ae.susar_followup_due_at, ae.susar_followup_reported_at, now
            )
            if ae.susar and ae.susar_followup_due_at is not None
            else None,
        )
        for ae in events
    ]


def sae_clock(
    user: Any, trial: Trial, now: datetime, *, pending_only: bool = False
) -> list[SaeClock]:
    """The serious adverse events of `trial` that `user` may see, with where each reporting
    clock stands at `now`, most urgent first.

    Two queries whatever the number of rows: the user's memberships, then the events with
    their participant and site.
    """
    return sae_clock_rows(sae_clock_events(user, trial, now, pending_only=pending_only), now)

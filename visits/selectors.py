"""Reads for visits: a participant's schedule, participant lists with visit counts, the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from ecrf.errors import NotFoundError
from ecrf.site_time import local_date
from trials.access import scope_queryset
from trials.blinding import ArmAccess, arm_access
from trials.definitions import current_version, definition_of
from trials.models import ArmGround, Cohort, Participant, ParticipantStatus, Site, Trial
from trials.selectors import (
    Checklist,
    ParticipantAbilities,
    eligibility_checklist,
    participant_abilities,
    visible_participants,
)
from trials.services import active_cohort, dose_escalation_running
from trials.services.participants import ENDED, TRANSITIONS, reconfirmed_criteria
from visits.models import OPEN_STATUSES, Visit, VisitStatus


def _visits(user: Any) -> QuerySet[Visit]:
    return scope_queryset(
        Visit.objects.all(), user, trial_field="participant__trial", site_field="participant__site"
    ).select_related("participant__site", "participant__trial")


@dataclass(frozen=True)
class ScheduledVisit:
    """A visit with its window as the first and last local calendar day at the site."""

    visit: Visit
    window_from: date | None
    window_to: date | None

    @property
    def is_open(self) -> bool:
        return self.visit.status in OPEN_STATUSES


def scheduled(visit: Visit) -> ScheduledVisit:
    tz = visit.participant.site.time_zone
    first = last = None
    if visit.window_opens_at is not None:
        first = local_date(visit.window_opens_at, tz)
    if visit.window_closes_at is not None:
        # The stored close is the start of the day after the window: show its last day.
        last = local_date(visit.window_closes_at, tz) - timedelta(days=1)
    return ScheduledVisit(visit=visit, window_from=first, window_to=last)


def visit_schedule(user: Any, participant: Participant) -> list[ScheduledVisit]:
    """The participant's visits in VISITNUM order, or nothing if the user may not see them."""
    visits = _visits(user).filter(participant=participant).order_by("visit_number")
    return [scheduled(visit) for visit in visits]


def visit_get(user: Any, pk: Any) -> Visit:
    """One visit the user may see; another site's visit is not found, not refused."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError(gettext("No such visit.")) from None
    visit = _visits(user).filter(pk=key).first()
    if visit is None:
        raise NotFoundError(gettext("No such visit."))
    return visit


# Participants with their visits ------------------------------------------------------------


def participant_list(
    user: Any, trial: Trial, *, status: str | None = None, site: Site | str | None = None
) -> QuerySet[Participant]:
    """Participants of `trial` at the sites the user works at (all sites for all-site roles),
    each with `overdue_visits` and `missed_visits` counts."""
    participants = visible_participants(user).filter(trial=trial)
    if status:
        participants = participants.filter(status=status)
    if isinstance(site, Site):
        participants = participants.filter(site=site)
    elif site:
        participants = participants.filter(site__code=site)
    # Correlated subqueries, not a join: still one query for the page, and the paginator's
    # count drops them.
    return participants.annotate(
        overdue_visits=_visit_count(VisitStatus.OVERDUE),
        missed_visits=_visit_count(VisitStatus.MISSED),
    ).order_by("site__code", "screening_number")


def _visit_count(status: str) -> Coalesce:
    """How many of the participant's visits are in `status`, for annotating participants."""
    counted = (
        Visit.objects.filter(participant=OuterRef("pk"), status=status)
        .order_by()
        .values("participant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class ParticipantOverview:
    """Everything the participant page shows, and which of its actions the user may take."""

    participant: Participant
    abilities: ParticipantAbilities
    checklist: Checklist
    schedule: list[ScheduledVisit]
    escalation_running: bool
    open_cohort: Cohort | None
    # The ground on which the user may see the arm (the gate's answer); the arm itself is
    # read, and the read recorded, only by the service the page calls when it shows it.
    arm_access: ArmAccess | None

    def _can_become(self, status: str) -> bool:
        return status in TRANSITIONS.get(self.participant.status, frozenset())

    @property
    def is_active(self) -> bool:
        return self.participant.status not in ENDED

    @property
    def next_visit(self) -> ScheduledVisit | None:
        """The first visit still to be done, in schedule order; none once participation ends."""
        if not self.is_active:
            return None
        return next((row for row in self.schedule if row.is_open), None)

    @property
    def has_consent(self) -> bool:
        return bool(self.participant.consents.all())

    @property
    def can_consent(self) -> bool:
        return self.abilities.is_staff and self.is_active

    @property
    def can_answer(self) -> bool:
        screening = self.participant.status == ParticipantStatus.SCREENING
        return self.abilities.is_staff and screening and self.has_consent

    @property
    def can_confirm(self) -> bool:
        return self.abilities.is_investigator and self._can_become(ParticipantStatus.ELIGIBLE)

    @property
    def can_screen_fail(self) -> bool:
        return self.abilities.is_staff and self._can_become(ParticipantStatus.SCREEN_FAILED)

    @property
    def can_randomize(self) -> bool:
        allowed = self._can_become(ParticipantStatus.RANDOMIZED)
        return self.abilities.is_staff and allowed and not self.escalation_running

    @property
    def reconfirm_criteria(self) -> list[tuple[str, Any]]:
        """(kind, criterion) the protocol asks to confirm again on the day of randomization."""
        if not self.can_randomize:
            return []
        return reconfirmed_criteria(self.participant, "randomization")

    @property
    def can_enrol(self) -> bool:
        allowed = self._can_become(ParticipantStatus.ENROLLED)
        return self.abilities.is_staff and allowed and self.open_cohort is not None

    @property
    def waits_for_cohort(self) -> bool:
        """Eligible while escalation runs but no cohort is open (awaiting a safety review)."""
        allowed = self._can_become(ParticipantStatus.ENROLLED)
        return allowed and self.escalation_running and self.open_cohort is None

    @property
    def can_set_day0(self) -> bool:
        status = self.participant.status
        started = status in (ParticipantStatus.RANDOMIZED, ParticipantStatus.ENROLLED)
        on_study = status == ParticipantStatus.ON_STUDY
        return self.abilities.is_staff and (started or on_study)

    @property
    def can_record_visits(self) -> bool:
        return self.abilities.is_staff and self.is_active

    @property
    def can_withdraw(self) -> bool:
        return self.abilities.is_staff and self._can_become(ParticipantStatus.WITHDRAWN)

    @property
    def can_mark_lost(self) -> bool:
        return self.abilities.is_staff and self._can_become(ParticipantStatus.LOST_TO_FOLLOW_UP)

    @property
    def can_complete(self) -> bool:
        return self.abilities.is_staff and self._can_become(ParticipantStatus.COMPLETED)

    @property
    def is_allocated(self) -> bool:
        # The randomization number says a concealed slot was taken, without reading the slot.
        return bool(self.participant.randomization_number or self.participant.cohort_id)

    @property
    def shows_treatment(self) -> bool:
        """The pharmacist sees the product to prepare on the page itself."""
        access = self.arm_access
        return self.is_allocated and access is not None and access.ground == ArmGround.PHARMACY

    @property
    def offers_arm(self) -> bool:
        """Any other unblinded reader asks for the arm on a page of its own, deliberately."""
        return self.is_allocated and self.arm_access is not None and not self.shows_treatment

    @property
    def can_unblind(self) -> bool:
        # The randomization number says a concealed slot was taken, without reading the slot.
        return self.abilities.is_investigator and bool(self.participant.randomization_number)


def participant_overview(
    user: Any,
    participant: Participant,
    *,
    checklist_only: bool = False,
    now: datetime | None = None,
) -> ParticipantOverview:
    """The participant page's content for `user`; `participant` comes from participant_get.

    `checklist_only` leaves out the schedule, cohorts and allocation: refreshing one answered
    criterion needs only the checklist and what the user may do with it.
    """
    abilities = participant_abilities(user, participant)
    checklist = eligibility_checklist(participant)
    if checklist_only:
        return ParticipantOverview(participant, abilities, checklist, [], False, None, None)
    running = dose_escalation_running(participant.trial)
    return ParticipantOverview(
        participant=participant,
        abilities=abilities,
        checklist=checklist,
        schedule=visit_schedule(user, participant),
        escalation_running=running,
        open_cohort=active_cohort(participant.trial) if running else None,
        arm_access=arm_access(user, participant, now=now or timezone.now()),
    )


# A trial's progress ----------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """Participants randomized or enrolled in a cohort, counted by the local day at their site."""

    target: int
    # (day, participants allocated by the end of that day), one row per day with an allocation.
    cumulative: list[tuple[date, int]]

    @property
    def total(self) -> int:
        return self.cumulative[-1][1] if self.cumulative else 0


def trial_enrolment(user: Any, trial: Trial) -> Enrolment:
    """Allocation over time among the participants the user may see, against the trial's
    planned enrolment; an allocation is the randomization or the cohort enrolment."""
    target = definition_of(current_version(trial.pk)).planned_enrollment
    allocated = (
        visible_participants(user)
        .filter(trial=trial, randomized_at__isnull=False)
        .select_related("site")
    )
    per_day: dict[date, int] = {}
    for participant in allocated:
        if participant.randomized_at is None:  # excluded by the query; for the type checker
            continue
        day = local_date(participant.randomized_at, participant.site.time_zone)
        per_day[day] = per_day.get(day, 0) + 1
    running = 0
    cumulative = []
    for day in sorted(per_day):
        running += per_day[day]
        cumulative.append((day, running))
    return Enrolment(target=target, cumulative=cumulative)


@dataclass(frozen=True)
class SiteCompleteness:
    """Of a site's visits that were due, how many were completed."""

    site: Site
    due: int
    completed: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.completed / self.due, 1) if self.due else None


# A visit is due once its window has closed or it was done: completed, missed, overdue or
# recorded as not done.
DUE_STATUSES = (
    VisitStatus.COMPLETED,
    VisitStatus.MISSED,
    VisitStatus.OVERDUE,
    VisitStatus.NOT_DONE,
)


def visit_completeness(user: Any, trial: Trial) -> list[SiteCompleteness]:
    """Per site the user works at (every site for all-site roles), in site order."""
    counts = (
        _visits(user)
        .filter(participant__trial=trial, status__in=DUE_STATUSES)
        .values("participant__site")
        .annotate(
            due=Count("pk"),
            completed=Count("pk", filter=Q(status=VisitStatus.COMPLETED)),
        )
        .order_by()
    )
    by_site = {row["participant__site"]: row for row in counts}
    sites = Site.objects.filter(pk__in=by_site).order_by("code")
    return [
        SiteCompleteness(site, by_site[site.pk]["due"], by_site[site.pk]["completed"])
        for site in sites
    ]

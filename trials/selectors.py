"""Reads for trials and participants, scoped to what the asking user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, IntegerField, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.errors import NotFoundError
from trials.access import active_memberships, scope_queryset, user_roles
from trials.blinding import ArmAccess, arm_access
from trials.definitions import current_version, definition_of
from trials.models import (
    AllocationList,
    ArmGround,
    Cohort,
    Consent,
    CriterionKind,
    EligibilityAnswer,
    Participant,
    ParticipantStatus,
    Site,
    Trial,
)
from trials.protocol import Criterion, ProtocolDefinition
from trials.services import (
    active_cohort,
    dose_escalation_running,
    eligibility_outcome,
)
from trials.services.participants import ENDED, TRANSITIONS
from visits.models import Visit, VisitStatus
from visits.selectors import ScheduledVisit, visit_schedule


def trial_list(user: Any) -> QuerySet[Trial]:
    """The trials where the user holds an active membership, with the newest version number."""
    trial_ids = active_memberships(user).values("trial_id")
    return (
        Trial.objects.filter(pk__in=trial_ids)
        .annotate(version_number=Max("protocol_versions__number"))
        .order_by("code")
    )


def trial_get(user: Any, code: str) -> Trial:
    """One trial by code; a trial the user has no role in does not exist for them."""
    trial = trial_list(user).filter(code=code).first()
    if trial is None:
        raise NotFoundError("No such trial.")
    return trial


def trial_protocol(trial: Trial) -> ProtocolDefinition:
    """The typed definition of the trial's current protocol version."""
    return definition_of(current_version(trial.pk))


def trial_sites(trial: Trial) -> QuerySet[Site]:
    return Site.objects.filter(trial=trial).order_by("code")


def _participants(user: Any) -> QuerySet[Participant]:
    # The concealed slot (`allocation`) is deliberately never joined or prefetched here: no
    # participant read hands the arm to a serializer or template by accident.
    return scope_queryset(
        Participant.objects.all(), user, trial_field="trial", site_field="site"
    ).select_related("trial", "site", "cohort")


def participant_list(
    user: Any, trial: Trial, *, status: str | None = None, site: Site | str | None = None
) -> QuerySet[Participant]:
    """Participants of `trial` at the sites the user works at (all sites for all-site roles),
    each with `overdue_visits` and `missed_visits` counts."""
    participants = _participants(user).filter(trial=trial)
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


def participant_get(user: Any, pk: Any) -> Participant:
    """One participant the user may see; another site's participant is not found, not refused."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError("No such participant.") from None
    participant = (
        _participants(user)
        .select_related("protocol_version")
        .prefetch_related(
            Prefetch("consents", queryset=Consent.objects.select_related("obtained_by"))
        )
        .filter(pk=key)
        .first()
    )
    if participant is None:
        raise NotFoundError("No such participant.")
    return participant


@dataclass(frozen=True)
class ParticipantAbilities:
    """What the user may do to one participant; pages show only the actions allowed."""

    roles: frozenset[str]
    is_staff: bool
    is_investigator: bool


def participant_abilities(user: Any, participant: Participant) -> ParticipantAbilities:
    roles = frozenset(user_roles(user, participant.trial, participant.site))
    return ParticipantAbilities(
        roles=roles,
        is_staff=bool(roles & SITE_STAFF_ROLES),
        is_investigator=Role.INVESTIGATOR in roles,
    )


@dataclass(frozen=True)
class ChecklistItem:
    criterion: Criterion
    kind: str
    answer: bool | None
    comment: str
    answered_at: datetime | None

    @property
    def code(self) -> str:
        return self.criterion.code


@dataclass(frozen=True)
class Checklist:
    inclusion: list[ChecklistItem]
    exclusion: list[ChecklistItem]
    outcome: dict[str, Any]

    @property
    def items(self) -> list[ChecklistItem]:
        return [*self.inclusion, *self.exclusion]

    def item(self, code: str) -> ChecklistItem:
        for item in self.items:
            if item.code == code:
                return item
        raise NotFoundError(f"{code} is not a criterion of this protocol version.")


def eligibility_checklist(participant: Participant) -> Checklist:
    """Every criterion of the participant's protocol version with its current answer.

    The caller has already fetched `participant` through a scoped selector.
    """
    eligibility = definition_of(participant.protocol_version).eligibility
    answers = {
        a.criterion_code: a for a in EligibilityAnswer.objects.filter(participant=participant)
    }

    def item(criterion: Criterion, kind: str) -> ChecklistItem:
        row = answers.get(criterion.code)
        return ChecklistItem(
            criterion=criterion,
            kind=kind,
            answer=None if row is None else row.answer,
            comment="" if row is None else row.comment,
            answered_at=None if row is None else row.answered_at,
        )

    return Checklist(
        inclusion=[item(c, CriterionKind.INCLUSION) for c in eligibility.inclusion],
        exclusion=[item(c, CriterionKind.EXCLUSION) for c in eligibility.exclusion],
        outcome=eligibility_outcome(participant),
    )


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


def cohort_list(user: Any, trial: Trial) -> QuerySet[Cohort]:
    """Dose-escalation cohorts of the trial with their enrolment counts (open-label data)."""
    return (
        scope_queryset(Cohort.objects.filter(trial=trial), user, site_field=None)
        .select_related("trial")
        .prefetch_related("safety_reviews")
        .annotate(enrolled=Count("participants"))
        .order_by("stage_code", "order")
    )


def cohort_get(user: Any, pk: Any) -> Cohort:
    cohort = (
        scope_queryset(Cohort.objects.all(), user, site_field=None)
        .select_related("trial")
        .filter(pk=pk)
        .first()
    )
    if cohort is None:
        raise NotFoundError("No such cohort.")
    return cohort


def allocation_list_size(allocation_list: AllocationList) -> int:
    return allocation_list.slots.count()

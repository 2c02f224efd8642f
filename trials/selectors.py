"""Reads for trials and participants, scoped to what the asking user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, OuterRef, Prefetch, QuerySet, Subquery

from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.errors import NotFoundError
from trials.access import active_memberships, scope_queryset, user_roles
from trials.definitions import current_version, definition_of
from trials.models import (
    AllocationList,
    Cohort,
    Consent,
    CriterionKind,
    EligibilityAnswer,
    Participant,
    Site,
    Trial,
)
from trials.protocol import Criterion, ProtocolDefinition
from trials.services import (
    eligibility_outcome,
)


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


def visible_participants(user: Any) -> QuerySet[Participant]:
    """Participants at the sites the user works at (all sites for all-site roles)."""
    # The concealed slot (`allocation`) is deliberately never joined or prefetched here: no
    # participant read hands the arm to a serializer or template by accident.
    return scope_queryset(
        Participant.objects.all(), user, trial_field="trial", site_field="site"
    ).select_related("trial", "site", "cohort")


def _participant_key(pk: Any) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise NotFoundError("No such participant.") from None


def _found(participant: Participant | None) -> Participant:
    if participant is None:
        raise NotFoundError("No such participant.")
    return participant


def participant_get(user: Any, pk: Any) -> Participant:
    """One participant the user may see; another site's participant is not found, not refused."""
    key = _participant_key(pk)
    return _found(
        visible_participants(user)
        .select_related("protocol_version")
        .prefetch_related(
            Prefetch("consents", queryset=Consent.objects.select_related("obtained_by"))
        )
        .filter(pk=key)
        .first()
    )


def participant_get_for_update(user: Any, pk: Any) -> Participant:
    """One participant the user may see, as `participant_get`, its row locked in the caller's
    transaction (only its own row, not its site's or protocol version's) and read with the
    date of its first consent (`first_consent_date`, None before consent) in place of its
    consents: for a write that needs no more of them."""
    if not transaction.get_connection().in_atomic_block:
        raise ValueError("A participant is locked inside the caller's transaction.")
    key = _participant_key(pk)
    first_consent = (
        Consent.objects.filter(participant=OuterRef("pk"))
        .order_by("consent_date")
        .values("consent_date")[:1]
    )
    return _found(
        visible_participants(user)
        .select_related("protocol_version")
        .select_for_update(of=("self",))
        .annotate(first_consent_date=Subquery(first_consent))
        .filter(pk=key)
        .first()
    )


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

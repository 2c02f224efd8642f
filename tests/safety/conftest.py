"""Fixtures and helpers for adverse events: the shared on-study participant and team."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.models import User
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.access import Role
from safety.models import AdverseEvent
from tests.assessments.conftest import after_week24, participant  # noqa: F401
from tests.factories import MembershipFactory, UserFactory
from tests.trials.conftest import Team, make_eligible, mscrole, msvle, register  # noqa: F401
from trials.models import Participant

# Six weeks after Day 0 (2026-03-04); consent was given on 2026-03-02.
NOW = datetime(2026, 4, 20, 10, 0, tzinfo=UTC)


def enter(
    team: Team,
    subject: Participant,
    data: dict[str, Any],
    *,
    actor: User | None = None,
    now: datetime = NOW,
) -> AdverseEvent:
    """First entry of an adverse event, by the site coordinator unless told otherwise."""
    saved: AdverseEvent = form_save(
        actor=actor or team.coordinator,
        ftype=form_type("adverse_events"),
        participant=subject,
        data=data,
        now=now,
    )
    return saved


def follow_up(
    team: Team,
    ae: AdverseEvent,
    data: dict[str, Any],
    *,
    actor: User | None = None,
    reason: str = "Follow-up information",
    version: int | None = None,
    now: datetime = NOW,
) -> AdverseEvent:
    """A change to an entered event, based on the version in hand unless told otherwise."""
    saved: AdverseEvent = form_save(
        actor=actor or team.coordinator,
        ftype=form_type("adverse_events"),
        participant=ae.participant,
        record_id=ae.pk,
        expected_version=ae.row_version if version is None else version,
        data=data,
        reason=reason,
        now=now,
    )
    return saved


def data_manager(team: Team) -> User:
    user = UserFactory(username=f"{team.trial.code.lower()}_data_manager")
    MembershipFactory(user=user, trial=team.trial, site=None, role=Role.DATA_MANAGER)
    return user


@pytest.fixture
def other_participant(msvle: Team) -> Participant:  # noqa: F811 - the fixture, by name
    """A consented participant at the other site of the same trial."""
    return make_eligible(msvle, register(msvle, site=msvle.other_site))

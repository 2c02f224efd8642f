"""Adverse events entered and followed up through the form service, and a data manager to
code them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from accounts.models import User
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.access import Role
from safety.models import AdverseEvent
from tests.personas import Team, member
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
    """A trial-wide data manager of the team's trial (`msvle_data_manager`)."""
    return member(team.trial, Role.DATA_MANAGER, None, f"{team.trial.code.lower()}_data_manager")

"""Fixtures for trials: the shipped protocols loaded, and a team at two sites of each trial."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from accounts.services import system_actor
from ecrf.access import Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, SiteFactory, UserFactory
from trials.models import Participant, Site, Trial
from trials.protocol import parse_protocol_file
from trials.services import (
    allocation_generate,
    consent_record,
    dsmb_release_grant,
    eligibility_answer,
    eligibility_confirm,
    protocol_load,
)
from trials.services.participants import eligibility_outcome
from visits.services import participant_register

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SEED = "a-secret-seed-of-enough-length-0001"


def load(name: str) -> Trial:
    definition = parse_protocol_file(PROTOCOLS / name)
    result = protocol_load(actor=system_actor(), definition=definition, source_name=name, now=NOW)
    return result.version.trial


@dataclass
class Team:
    trial: Trial
    site: Site
    other_site: Site
    investigator: User
    coordinator: User
    other_coordinator: User
    pharmacist: User
    monitor: User
    medical_monitor: User
    statistician: User
    unblinded_statistician: User
    trial_admin: User
    password: str = DEFAULT_PASSWORD


def make_team(trial: Trial) -> Team:
    site = trial.sites.order_by("code").first()
    other = SiteFactory(
        trial=trial, code="ZZ01", name="Other hospital", time_zone="America/Santiago"
    )

    def member(role: str, at: Site | None, name: str) -> User:
        user = UserFactory(
            username=f"{trial.code.lower()}_{name}", email=f"{name}@{trial.code}.org"
        )
        MembershipFactory(user=user, trial=trial, site=at, role=role)
        return user

    return Team(
        trial=trial,
        site=site,
        other_site=other,
        investigator=member(Role.INVESTIGATOR, site, "investigator"),
        coordinator=member(Role.COORDINATOR, site, "coordinator"),
        other_coordinator=member(Role.COORDINATOR, other, "other_coordinator"),
        pharmacist=member(Role.PHARMACIST, site, "pharmacist"),
        monitor=member(Role.MONITOR, site, "monitor"),
        medical_monitor=member(Role.MEDICAL_MONITOR, None, "medical_monitor"),
        statistician=member(Role.STATISTICIAN, None, "statistician"),
        unblinded_statistician=member(Role.UNBLINDED_STATISTICIAN, None, "unblinded"),
        trial_admin=member(Role.TRIAL_ADMIN, None, "admin"),
    )


@pytest.fixture
def msvle(db) -> Team:
    return make_team(load("nct03673748.yaml"))


@pytest.fixture
def mscrole(db) -> Team:
    return make_team(load("nct03917797.yaml"))


def register(
    team: Team, *, site: Site | None = None, born: date = date(1990, 5, 17), sex: str = "F"
) -> Participant:
    return participant_register(
        actor=team.coordinator if site is None else team.other_coordinator,
        site=site or team.site,
        sex=sex,
        date_of_birth=born,
        now=NOW,
    )


def make_eligible(team: Team, participant: Participant | None = None) -> Participant:
    participant = participant or register(team)
    actor = team.coordinator if participant.site == team.site else team.other_coordinator
    consent_record(
        actor=actor, participant=participant, form_version="1.0", consent_date=NOW.date(), now=NOW
    )
    outcome = eligibility_outcome(participant)
    for code in outcome["unanswered"]:
        eligibility_answer(
            actor=actor,
            participant=participant,
            criterion_code=code,
            answer=code.startswith("IN"),
            now=NOW,
        )
    investigator = team.investigator
    if participant.site != team.site:
        investigator = UserFactory(username=f"{team.trial.code.lower()}_inv_other")
        MembershipFactory(
            user=investigator, trial=team.trial, site=participant.site, role=Role.INVESTIGATOR
        )
    return eligibility_confirm(actor=investigator, participant=participant, now=NOW)


def with_allocation(team: Team) -> None:
    allocation_generate(actor=team.unblinded_statistician, trial=team.trial, seed=SEED, now=NOW)


def grant_release(team: Team, *, now: datetime = NOW, expires_at: datetime | None = None) -> Any:
    """A DSMB release for the team's unblinded statistician, granted by its trial admin."""
    return dsmb_release_grant(
        actor=team.trial_admin,
        trial=team.trial,
        recipient=team.unblinded_statistician,
        reason="DSMB meeting (interim safety review)",
        now=now,
        expires_at=expires_at,
    )

"""Fixtures shared by every package: the people (tests/personas.py) and a participant on study
(tests/world.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from accounts.models import User
from ecrf.access import Role
from tests.personas import Personas, Team, load, make_personas, make_team, member
from tests.world import on_study
from trials.models import Participant


@pytest.fixture
def personas(db: None) -> Personas:
    """The DEMO trial's people, each named after their username (`coordinator_a`)."""
    return make_personas()


@pytest.fixture
def msvle(db: None) -> Team:
    """MSV_LE loaded from its protocol file, with a team at two sites."""
    return make_team(load("nct03673748.yaml"))


@pytest.fixture
def mscrole(db: None) -> Team:
    """MSC-ROLE loaded from its protocol file, with a team at two sites."""
    return make_team(load("nct03917797.yaml"))


@pytest.fixture
def participant(msvle: Team) -> Participant:
    """A participant of MSV_LE at the team's site, randomized, with Day 0 on 2026-03-04."""
    return on_study(msvle)


@pytest.fixture
def after_week24() -> Iterator[None]:
    """The clock at a time when every visit up to week 24 can have been done."""
    with time_machine.travel("2026-09-01 10:00:00+00:00", tick=False):
        yield


@pytest.fixture
def data_manager(msvle: Team) -> User:
    """MSV_LE's trial-wide data manager."""
    return member(
        msvle.trial, Role.DATA_MANAGER, None, "msvle_data_manager", printed_name="Dana Manager"
    )


@pytest.fixture
def monitor_b(msvle: Team) -> User:
    """A monitor at MSV_LE's other site."""
    return member(
        msvle.trial,
        Role.MONITOR,
        msvle.other_site,
        "msvle_monitor_b",
        printed_name="Monitor Other Site",
    )

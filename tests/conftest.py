"""Fixtures shared by every package: the people (tests/personas.py) and a participant on study
(tests/world.py).

A trial loaded from its protocol file with its team (`msvle`, `mscrole`, `personas`) is built
once per test module (tests/sharing.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from accounts.models import User
from ecrf.access import Role
from tests.personas import Personas, Team, load, make_personas, make_team, member
from tests.sharing import TRANSACTIONAL_MODULES, each_test, module_built
from tests.world import on_study
from trials.models import Participant


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Note the modules whose tests commit: they build their data per test."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        commits = bool(marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)))
        needs = {"transactional_db", "live_server", "django_db_serialized_rollback"}
        if commits or needs & set(getattr(item, "fixturenames", ())):
            TRANSACTIONAL_MODULES.add(item.nodeid.split("::")[0])


def _msvle() -> Team:
    return make_team(load("nct03673748.yaml"))


def _mscrole() -> Team:
    return make_team(load("nct03917797.yaml"))


@pytest.fixture(scope="module")
def module_personas(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[Personas | None]:
    yield from module_built(request, django_db_blocker, make_personas)


@pytest.fixture(scope="module")
def module_msvle(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[Team | None]:
    yield from module_built(request, django_db_blocker, _msvle)


@pytest.fixture(scope="module")
def module_mscrole(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[Team | None]:
    yield from module_built(request, django_db_blocker, _mscrole)


@pytest.fixture
def personas(module_personas: Personas | None, db: None) -> Personas:
    """The DEMO trial's people, each named after their username (`coordinator_a`)."""
    return each_test(module_personas, make_personas)


@pytest.fixture
def msvle(module_msvle: Team | None, db: None) -> Team:
    """MSV_LE loaded from its protocol file, with a team at two sites."""
    return each_test(module_msvle, _msvle)


@pytest.fixture
def mscrole(module_mscrole: Team | None, db: None) -> Team:
    """MSC-ROLE loaded from its protocol file, with a team at two sites."""
    return each_test(module_mscrole, _mscrole)


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

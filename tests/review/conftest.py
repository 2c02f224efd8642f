"""Fixtures for review: the on-study participant, a data manager and a monitor at site B."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from accounts.models import User
from assessments.services import form_save
from casebook.catalogue import form_type
from ecrf.access import Role
from tests.assessments.conftest import after_week24, participant  # noqa: F401
from tests.assessments.test_sledai_form import EXAMPLE_1
from tests.factories import MembershipFactory, UserFactory
from tests.trials.conftest import Team, msvle  # noqa: F401
from trials.models import Participant

# The clock of the `after_week24` fixture: forms are first entered at this time.
ENTERED = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def later(hours: float) -> datetime:
    return ENTERED + timedelta(hours=hours)


def enter_sledai(
    team: Team,
    participant: Participant,  # noqa: F811 - a parameter, not the fixture
    code: str = "W4",
    data: dict[str, Any] | None = None,
    *,
    actor: User | None = None,
    now: datetime = ENTERED,
    **kwargs: Any,
) -> Any:
    """Enter (or, with `expected_version` and `reason`, change) the SLEDAI-2K of a visit."""
    return form_save(
        actor=actor or team.investigator,
        ftype=form_type("sledai2k"),
        participant=participant,
        visit=participant.visits.get(code=code),
        data=data if data is not None else {"assessment_date": date(2026, 4, 1), **EXAMPLE_1},
        now=now,
        **kwargs,
    )


@pytest.fixture
def data_manager(msvle: Team) -> User:  # noqa: F811 - the fixture, by name
    user = UserFactory(username="msvle_data_manager", printed_name="Dana Manager")
    MembershipFactory(user=user, trial=msvle.trial, site=None, role=Role.DATA_MANAGER)
    return user


@pytest.fixture
def monitor_b(msvle: Team) -> User:  # noqa: F811 - the fixture, by name
    user = UserFactory(username="msvle_monitor_b", printed_name="Monitor Other Site")
    MembershipFactory(user=user, trial=msvle.trial, site=msvle.other_site, role=Role.MONITOR)
    return user

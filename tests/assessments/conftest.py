"""Fixtures for forms: a randomized participant on study, with Day 0 set and visits created."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from tests.trials.conftest import (  # noqa: F401 - fixtures shared with the trials tests
    NOW,
    Team,
    make_eligible,
    mscrole,
    msvle,
    with_allocation,
)
from trials.models import Participant
from trials.services import participant_randomize
from visits.services import participant_set_day0

DAY0 = date(2026, 3, 4)


def on_study(team: Team, *, day0: date = DAY0) -> Participant:
    """A participant of a trial without dose escalation, randomized and with Day 0 set."""
    if not hasattr(team, "_allocated"):
        with_allocation(team)
        team._allocated = True  # type: ignore[attr-defined]
    participant = make_eligible(team)
    participant = participant_randomize(actor=team.coordinator, participant=participant, now=NOW)
    return participant_set_day0(actor=team.coordinator, participant=participant, day0=day0, now=NOW)


@pytest.fixture
def participant(msvle: Team) -> Participant:  # noqa: F811 - the fixture, by name
    return on_study(msvle)


@pytest.fixture
def after_week24():
    """The clock at a time when every visit up to week 24 can have been done."""
    with time_machine.travel("2026-09-01 10:00:00+00:00", tick=False):
        yield

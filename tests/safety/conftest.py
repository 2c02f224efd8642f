"""Fixtures for adverse events: a participant at the other site of the trial."""

from __future__ import annotations

import pytest

from tests.personas import Team
from tests.world import make_eligible, register
from trials.models import Participant


@pytest.fixture
def other_participant(msvle: Team) -> Participant:
    """A consented participant at the other site of the same trial."""
    return make_eligible(msvle, register(msvle, site=msvle.other_site))

"""Fixtures for the casebook: the infusion record the blinding tests read, and its readers."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from tests.casebook.blinding import enter_infusion, readers
from tests.personas import Team
from trials.models import Participant


@pytest.fixture
def infusion(msvle: Team, participant: Participant) -> dict[str, Any]:
    """Entered by the pharmacist, recounted by the pharmacist, then a site field changed by the
    coordinator: the record and what each change returned."""
    return enter_infusion(msvle, participant)


@pytest.fixture
def users(msvle: Team) -> dict[str, User]:
    """A user of each role of MSV_LE, by role name."""
    return readers(msvle)

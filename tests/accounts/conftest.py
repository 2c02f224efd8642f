"""Fixtures for the account tests: two-factor authentication required as base settings say."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.signing_in import DEFAULT_REQUIRED


@pytest.fixture
def two_factor_on(settings: Any) -> None:
    settings.TWO_FACTOR_REQUIRED_ROLES = DEFAULT_REQUIRED

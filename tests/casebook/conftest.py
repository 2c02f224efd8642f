"""Fixtures for the casebook: those of the review tests, by name."""

from tests.assessments.conftest import after_week24, participant  # noqa: F401
from tests.review.conftest import data_manager, monitor_b  # noqa: F401
from tests.trials.conftest import msvle  # noqa: F401

"""Fixtures for the jobs: participants on study at a Madrid site, shared with the form tests."""

from tests.assessments.conftest import after_week24, on_study, participant  # noqa: F401
from tests.trials.conftest import mscrole, msvle  # noqa: F401

"""Fixtures for the exports: the export job world, the dataset trial and the ODM story."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.exports.dataset_fixtures import Trial, build_trial
from tests.exports.job_fixtures import World, build_world
from tests.exports.odm_fixtures import Story, build_story
from tests.sharing import each_test, module_fixture


@pytest.fixture
def exports_dir(settings: Any, tmp_path: Path) -> Path:
    """Export files of this test only, under its temporary folder."""
    folder = tmp_path / "exports"
    settings.EXPORTS_DIR = str(folder)
    return folder


# Each is built once per test module (tests/conftest.py, `module_built`).
module_world = module_fixture("module_world", build_world)
module_sdtm_trial = module_fixture("module_sdtm_trial", build_trial)
module_story = module_fixture("module_story", build_story)


@pytest.fixture
def world(module_world: World | None, db: None, exports_dir: Path) -> World:
    """MSVLE loaded at T0 with a team at two sites, a data manager and an outsider."""
    return each_test(module_world, build_world)


@pytest.fixture
def sdtm_trial(module_sdtm_trial: Trial | None, db: None) -> Trial:
    """The small MSV_LE trial of the dataset tests (see tests/exports/dataset_fixtures.py)."""
    return each_test(module_sdtm_trial, build_trial)


@pytest.fixture
def story(module_story: Story | None, db: None) -> Story:
    """The MSV_LE story of the ODM tests (see tests/exports/odm_fixtures.py)."""
    return each_test(module_story, build_story)

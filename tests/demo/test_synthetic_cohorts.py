"""The synthetic data generator on MSCROLE: open-label dose-escalation cohorts, each reviewed
before the next opens, then the randomized stage; the checks of test_synthetic.py in both modes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.demo.test_synthetic import (
    Baseline,
    GeneratedDataChecks,
    Run,
    command,
    dated_ahead,
    differences,
    read,
    rolled_back,
    summary_of,
    trial_loaded,
)
from trials.models import Cohort, Participant, SafetyReview

# Every test reads the module's runs from the test database.
pytestmark = pytest.mark.django_db
SEED = "3"


@pytest.fixture(scope="module")
def mscrole(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield from trial_loaded("nct03917797.yaml", django_db_blocker)


@pytest.fixture(scope="module")
def runs(mscrole: None, django_db_blocker: Any) -> dict[str, Run]:
    """The three cohorts filled in two steps, the second appending to the first after the first
    cohort's review; then one more participant, randomized, appended in each mode in turn."""
    base = ("--trial", "MSCROLE", "--seed", SEED)
    found = {}
    with django_db_blocker.unblock(), rolled_back():
        baseline = Baseline.now()
        cohorts = [
            command(*base, "--participants", "3", "--mode", "services"),
            command(*base, "--participants", "6", "--mode", "services", "--append"),
        ]
        for mode in ("services", "bulk"):
            with rolled_back():
                last = command(*base, "--participants", "1", "--mode", mode, "--append")
                found[mode] = read("MSCROLE", [*cohorts, last], baseline)
    return found


class TestMscrole(GeneratedDataChecks):
    def test_dose_escalation_goes_cohort_by_cohort(self, run: Run) -> None:
        cohorts = sorted(run.all(Cohort), key=lambda cohort: cohort["order"])
        members = run.by(Participant, "cohort_id")
        reviews = run.by(SafetyReview, "cohort_id")
        opened = None
        for cohort in cohorts:
            enrolled = members[cohort["id"]]
            assert len(enrolled) == cohort["planned_n"], cohort["code"]
            if opened is not None:
                # Nobody is enrolled in a cohort before the review that opened it.
                assert min(p["registered_at"] for p in enrolled) > opened, cohort["code"]
            (review,) = reviews[cohort["id"]]
            assert review["decision"] == "escalate" and cohort["status"] == "reviewed"
            last_dose = max(p["day0"] for p in enrolled)
            assert review["decided_at"].date() >= last_dose + timedelta(days=28)
            opened = review["decided_at"]
        assert opened is not None
        randomized = [p for p in run.participants if p["cohort_id"] is None]
        assert randomized
        for person in randomized:
            assert person["registered_at"] > opened
            assert person["randomized_at"] is not None and person["randomized_at"] > opened


def test_bulk_writes_the_randomized_participant_as_the_services_do(runs: dict[str, Run]) -> None:
    assert differences(runs["services"], runs["bulk"]) == []


def test_the_command_reports_the_mode_asked_for(runs: dict[str, Run]) -> None:
    for mode, run in runs.items():
        modes = [summary_of(output)["mode"] for output in run.outputs]
        assert modes == ["services", "services", mode]


def test_a_thousand_planned_participants_enter_nothing_dated_after_its_entry(
    mscrole: None, db: None
) -> None:
    assert dated_ahead("MSCROLE", 1000) == []

"""The load generator of the visit job: as many due visits as asked, with their history, and
every one of them flagged missed by the job itself (on PostgreSQL its set-based path)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from alerts.models import Alert
from flagging.visits import visits_flag_all
from tests.personas import load
from trials.models import Participant
from visits.models import Visit, VisitStatus

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def msvle(db):
    return load("nct03673748.yaml")


def test_generates_due_visits_with_history_that_the_job_flags(msvle, capsys) -> None:
    call_command("generate_visits", "--count", "25", "--trial", "MSVLE", "--now", NOW.isoformat())
    assert "Generated 25 visits of 3 participants at 8 sites" in capsys.readouterr().out
    visits = Visit.objects.filter(participant__trial__code="MSVLE")
    assert visits.count() == 25
    assert not visits.filter(window_closes_at__gt=NOW).exists()
    assert set(visits.values_list("status", flat=True)) == {"scheduled", "open", "overdue"}
    assert not visits.filter(status=VisitStatus.OVERDUE, flagged_at__isnull=True).exists()
    assert Visit.history.filter(history_type="+").count() == 25  # type: ignore[attr-defined]
    people = Participant.objects.filter(trial__code="MSVLE")
    assert people.count() == 3 and set(people.values_list("status", flat=True)) == {"on_study"}
    assert Participant.history.filter(history_type="+").count() == 3  # type: ignore[attr-defined]

    result = visits_flag_all(now=NOW, budget_seconds=60)
    assert len(result.missed) == 25
    assert visits.filter(status=VisitStatus.MISSED).count() == 25
    required = visits.filter(optional=False).count()
    assert Alert.objects.filter(kind="visit_missed").count() == required


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0", "--trial", "MSVLE"], "--count must be at least 1."),
        (["--count", "5", "--trial", "NOPE"], "No trial 'NOPE'"),
        (["--count", "5", "--trial", "MSVLE", "--now", "yesterday"], "is not an ISO date-time"),
        (["--count", "5", "--trial", "MSVLE", "--now", "2026-01-01T00:00"], "needs a UTC offset"),
        (["--count", "5", "--trial", "MSVLE", "--per-participant", "99"], "between 1 and 11"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(msvle, args, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("generate_visits", *args)
    assert not Visit.objects.exists()

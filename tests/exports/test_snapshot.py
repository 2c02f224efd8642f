"""Reading history-tracked models as of an instant: latest version, creations, deletions, ties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.services import system_actor
from exports.snapshot import as_of, batched, history_model, state_of, stream
from tests.exports.dataset_fixtures import at
from tests.factories import SiteFactory
from tests.personas import NOW
from tests.world import make_eligible, register
from trials.models import AllocationSlot, Participant, Site
from trials.services import participant_withdraw

T1 = NOW + timedelta(days=1)
T2 = NOW + timedelta(days=2)


def test_an_object_reads_as_its_latest_version_at_or_before_the_instant(msvle) -> None:
    with at(NOW):
        participant = make_eligible(msvle)
    with at(T2):
        participant_withdraw(
            actor=msvle.coordinator, participant=participant, reason="Moved away", now=T2
        )

    def status(instant: datetime) -> str | None:
        row = state_of(Participant, participant.pk, instant)
        return row.status if row is not None else None

    assert status(NOW - timedelta(seconds=1)) is None  # not registered yet
    assert status(NOW) == "eligible"
    assert status(T1) == "eligible"
    assert status(T2) == "withdrawn"
    assert status(T2 + timedelta(days=30)) == "withdrawn"
    # The live row agrees with the latest version.
    participant.refresh_from_db()
    assert participant.status == "withdrawn"


def test_versions_written_in_the_same_instant_resolve_to_the_last_written(msvle) -> None:
    # Registration, consent, eight answers and confirmation all happen at the frozen NOW:
    # the participant has several versions with one history date.
    with at(NOW):
        participant = make_eligible(msvle)
    versions = history_model(Participant).objects.filter(id=participant.pk, history_date=NOW)
    assert versions.count() >= 2
    rows = list(as_of(Participant, NOW).filter(id=participant.pk))
    assert len(rows) == 1
    assert rows[0].status == "eligible"
    assert rows[0].history_id == max(versions.values_list("history_id", flat=True))


def test_an_object_deleted_before_the_instant_is_absent(msvle) -> None:
    with at(NOW):
        site = SiteFactory(trial=msvle.trial, code="DEL1", name="Closed hospital")
        SiteFactory(trial=msvle.trial, code="KEEP1", name="Open hospital")
    site_id = site.pk
    with at(T1):
        site._history_user = system_actor()
        site.delete()

    def codes(instant: datetime) -> set[str]:
        rows = as_of(Site, instant).filter(code__in=["DEL1", "KEEP1"])
        return set(rows.values_list("code", flat=True))

    assert codes(NOW) == {"DEL1", "KEEP1"}
    assert codes(T1) == {"KEEP1"}
    assert state_of(Site, site_id, NOW).code == "DEL1"
    assert state_of(Site, site_id, T2) is None
    assert history_model(Site).objects.filter(id=site_id, history_type="-").count() == 1


def test_one_row_per_object_whatever_the_number_of_versions(msvle) -> None:
    with at(NOW):
        first = make_eligible(msvle)
    with at(T1):
        participant_withdraw(actor=msvle.coordinator, participant=first, reason="Left", now=T1)
    with at(T2):
        second = make_eligible(msvle, register(msvle, born=date(1980, 1, 1)))
    rows = list(stream(as_of(Participant, T2).filter(trial_id=msvle.trial.pk), chunk_size=1))
    assert sorted(row.id for row in rows) == sorted([first.pk, second.pk])
    assert {row.id: row.status for row in rows} == {first.pk: "withdrawn", second.pk: "eligible"}
    assert [row.id for row in as_of(Participant, T1).filter(trial_id=msvle.trial.pk)] == [first.pk]


def test_a_model_without_history_is_refused() -> None:
    with pytest.raises(TypeError, match="keeps no history"):
        as_of(AllocationSlot, datetime(2026, 1, 1, tzinfo=UTC))


def test_batched_splits_in_order() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []

"""The move of DSMB releases from exports to trials keeps every release, its history and the
exports that name it; the trial lock instant is filled from the active trial locks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("accounts", "0005_history_reason_as_text"),
    ("exports", "0003_history_reason_as_text"),
    ("review", "0003_history_reason_as_text"),
    ("trials", "0009_dsmbrelease_history_actor_names"),
]
GRANTED = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
LOCKED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def migrate(targets: list[tuple[str, str]]) -> object:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_releases_history_and_exports_survive_the_move() -> None:
    old = migrate(BEFORE)
    User = old.get_model("accounts", "User")
    Trial = old.get_model("trials", "Trial")
    ProtocolVersion = old.get_model("trials", "ProtocolVersion")
    Release = old.get_model("exports", "DsmbRelease")
    ReleaseHistory = old.get_model("exports", "HistoricalDsmbRelease")
    Export = old.get_model("exports", "Export")
    Lock = old.get_model("review", "Lock")

    admin = User.objects.create(username="admin")
    statistician = User.objects.create(username="unblinded")
    trial = Trial.objects.create(code="OLD", title="Old trial", short_title="Old")
    unlocked = Trial.objects.create(code="OPEN", title="Open trial", short_title="Open")
    version = ProtocolVersion.objects.create(
        trial=trial,
        number=1,
        label="1",
        checksum="0" * 64,
        definition={},
        source_name="old.yaml",
        loaded_at=GRANTED,
        loaded_by=admin,
    )
    releases = [
        Release.objects.create(
            id=pk,
            trial=trial,
            recipient=statistician,
            reason=f"DSMB meeting {pk}",
            granted_by=admin,
            granted_at=GRANTED,
            revoked_at=GRANTED if pk == 7 else None,
            revoked_by=admin if pk == 7 else None,
            revoke_reason="Meeting over" if pk == 7 else "",
        )
        for pk in (3, 7)
    ]
    for release in releases:
        ReleaseHistory.objects.create(
            id=release.id,
            trial_id=trial.id,
            recipient_id=statistician.id,
            granted_by_id=admin.id,
            reason=release.reason,
            granted_at=GRANTED,
            history_date=GRANTED,
            history_type="+",
            history_change_reason=release.reason,
            history_user_id=admin.id,
        )
    export = Export.objects.create(
        trial=trial,
        protocol_version=version,
        format="csv",
        as_of=GRANTED,
        blinded=False,
        requested_by=statistician,
        dsmb_release_id=3,
        created_at=GRANTED,
    )
    Lock.objects.create(
        level="trial", trial=trial, locked_by=admin, locked_at=LOCKED, reason="Final lock"
    )
    Lock.objects.create(
        level="trial",
        trial=unlocked,
        locked_by=admin,
        locked_at=LOCKED,
        reason="Interim",
        unlocked_by=admin,
        unlocked_at=LOCKED,
    )

    new = migrate(latest())

    from accounts.models import User as RealUser
    from exports.models import Export as NewExport
    from trials.models import DsmbRelease
    from trials.models import Trial as NewTrial

    moved = DsmbRelease.objects.order_by("pk")
    assert [(r.pk, r.reason, r.revoke_reason) for r in moved] == [
        (3, "DSMB meeting 3", ""),
        (7, "DSMB meeting 7", "Meeting over"),
    ]
    assert [h.history_change_reason for h in DsmbRelease.history.order_by("id")] == [
        "DSMB meeting 3",
        "DSMB meeting 7",
    ]
    assert NewExport.objects.get(pk=export.pk).dsmb_release == moved[0]
    assert DsmbRelease._meta.db_table == "trials_dsmbrelease"
    assert "exports_dsmbrelease" not in connection.introspection.table_names()
    # The id sequence moved past the copied ids: a new release does not collide.
    fresh = DsmbRelease(
        trial_id=trial.id,
        recipient_id=statistician.id,
        reason="DSMB meeting 8",
        granted_by_id=admin.id,
        granted_at=GRANTED,
    )
    fresh._history_user = RealUser.objects.get(pk=admin.pk)
    fresh.save()
    assert fresh.pk > 7
    # The active trial lock is on the trial; a released one is not.
    assert NewTrial.objects.get(code="OLD").locked_at == LOCKED
    assert NewTrial.objects.get(code="OPEN").locked_at is None
    assert new is not None


@pytest.mark.django_db(transaction=True)
def test_the_move_can_be_undone_with_the_rows() -> None:
    from accounts.models import User
    from trials.models import DsmbRelease, Trial

    admin = User.objects.create(username="admin")
    trial = Trial(code="BACK", title="Back", short_title="Back")
    trial._history_user = admin
    trial.save()
    release = DsmbRelease(
        id=5, trial=trial, recipient=admin, reason="DSMB", granted_by=admin, granted_at=GRANTED
    )
    release._history_user = admin
    release.save()
    old = migrate(BEFORE)
    assert list(old.get_model("exports", "DsmbRelease").objects.values_list("id", "reason")) == [
        (5, "DSMB")
    ]
    migrate(latest())
    assert list(DsmbRelease.objects.values_list("id", "reason")) == [(5, "DSMB")]

"""Long reads on a read replica: an export reads its datasets through the replica alias, every
write goes to the primary, and nothing moves while no replica is configured. The replica is
Django's test mirror of the primary, so both see the same committed rows."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from ecrf.db_routing import replica_reads
from exports.models import ExportStatus
from exports.services import export_request, export_run
from tests.world import on_study

REPLICA_DB = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def sql(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def writes(captured: CaptureQueriesContext) -> list[str]:
    return [q for q in sql(captured) if q.split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE")]


@REPLICA_DB
def test_reads_in_the_block_go_to_the_replica_and_writes_to_the_primary(settings) -> None:
    settings.DATABASE_REPLICA_ALIAS = "replica"
    user = User.objects.create_user(username="reader", password="x" * 12)
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        with replica_reads():
            found = User.objects.get(pk=user.pk)
            assert found._state.db == "replica"
            found.first_name = "Ana"
            found.save(update_fields=["first_name"])
        User.objects.get(pk=user.pk)
    assert [q for q in sql(replica) if q.startswith("SELECT")] and writes(replica) == []
    assert [q for q in sql(primary) if q.startswith("UPDATE")]
    # The read after the block is on the primary again.
    assert sql(primary)[-1].startswith("SELECT")
    assert User.objects.get(pk=user.pk).first_name == "Ana"


@REPLICA_DB
def test_without_a_replica_the_block_reads_the_primary(settings) -> None:
    settings.DATABASE_REPLICA_ALIAS = None
    user = User.objects.create_user(username="reader", password="x" * 12)
    with CaptureQueriesContext(connections["replica"]) as replica, replica_reads():
        assert User.objects.get(pk=user.pk)._state.db == "default"
    assert sql(replica) == []


@REPLICA_DB
def test_an_export_reads_its_datasets_from_the_replica(settings, msvle) -> None:
    on_study(msvle)
    settings.DATABASE_REPLICA_ALIAS = "replica"
    export = export_request(actor=msvle.statistician, trial=msvle.trial, fmt="csv", enqueue=False)
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        done = export_run(export_id=export.pk)
    assert done is not None and done.status == ExportStatus.DONE
    read = " ".join(sql(replica))
    # The datasets are built from the history tables as of the export's instant.
    assert "trials_historicalparticipant" in read and "visits_historicalvisit" in read
    assert writes(replica) == []
    # Progress and the result are written to the primary, which holds the finished export.
    assert any(q.startswith("UPDATE") and "exports_export" in q for q in sql(primary))
    assert not any("historicalvisit" in q or "historicalparticipant" in q for q in sql(primary))

"""A real Celery worker on the broker runs an export end to end: requested through the service,
enqueued on commit, written by the worker, then downloaded and checked against its manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_create
from exports.models import ExportStatus
from exports.selectors import exports_root
from exports.services import export_request
from tests.exports.job_fixtures import T1, World, check_manifest_hashes, populate, read_zip
from tests.factories import DEFAULT_PASSWORD
from tests.processes import running, service_env, unique_queue, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
WORKER = ["scripts/serve.sh", "worker"]


@pytest.fixture
def exports_dir() -> Path:
    """The worker writes where its settings say, the var dir's exports folder: the test reads
    the same folder, so it keeps the settings as they are."""
    return exports_root()


def test_a_real_worker_runs_an_export_end_to_end(world: World, settings, tmp_path: Path) -> None:
    populate(world)
    queue = unique_queue()
    settings.EXPORT_QUEUE = queue
    log = tmp_path / "worker.log"
    with running(WORKER, service_env(CELERY_QUEUE=queue), log):
        export = export_request(
            actor=world.team.statistician, trial=world.trial, fmt="csv", as_of=T1
        )

        def finished() -> bool:
            close_old_connections()
            export.refresh_from_db()
            return export.is_finished

        wait_until(finished, timeout=120, what="the worker to finish the export", log=log)
    assert export.status == ExportStatus.DONE, export.error
    assert "exports.run_export" in log.read_text()
    assert export.started_at is not None and export.finished_at is not None
    assert export.units_total > 0
    assert export.units_done == export.units_total
    try:
        _, key = token_create(
            user=world.team.statistician,
            name="script",
            password=DEFAULT_PASSWORD,
            now=timezone.now(),
        )
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        detail = api.get(f"/api/v1/exports/{export.pk}/").json()
        assert (detail["status"], detail["percent"]) == ("done", 100)
        reply = api.get(detail["download_url"])
        assert reply.status_code == 200
        manifest = check_manifest_hashes(read_zip(b"".join(reply.streaming_content)))
        assert manifest["format"] == "csv"
        assert manifest["as_of"] == "2026-03-05T10:00:00+00:00"
        reasons = [h.history_change_reason for h in export.history.order_by("history_id")]
        assert reasons[1:] == ["Export started", "Export done"]
    finally:
        shutil.rmtree(exports_root() / export.files_dir, ignore_errors=True)

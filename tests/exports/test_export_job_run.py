"""Running an export job: the queued -> running -> done | failed state machine, progress, the
failure path, and where the files go. The format writers are replaced here by a small writer
of this module, so that the job's own behaviour (a failure midway, progress as it streams) is
under the test's control; the real writers are exercised in test_export_job_files.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ecrf.errors import DomainError, InvalidTransitionError
from exports.base import ExportContext, WrittenFile
from exports.models import Export, ExportStatus
from exports.services import ProgressRecorder, export_archive, export_run, exports_fail_stale
from exports.services.runs import STALE_MESSAGE, sha256_of
from tests.exports.job_fixtures import (
    LATER,
    T1,
    World,
    request,
)

ROWS_PER_CALL = 10
CALLS = 5


class Writer:
    """Writes DM.csv (and a codebook) in CALLS steps, reporting progress after each; fails
    after step `fail_at` when asked. Records what it saw of the export while writing."""

    def __init__(self, *, fail_at: int | None = None, error: Exception | None = None) -> None:
        self.fail_at = fail_at
        self.error = error or ValueError("subject VA01-003 arm MSC cells 2e6/kg")
        self.contexts: list[ExportContext] = []
        self.seen_done: list[int] = []
        self.seen_status: list[str] = []

    def total(self, ctx: ExportContext, fmt: str) -> int:
        return ROWS_PER_CALL * CALLS

    def write(
        self, ctx: ExportContext, fmt: str, out_dir: Path, progress: Callable[[int], None]
    ) -> list[WrittenFile]:
        self.contexts.append(ctx)
        out_dir.mkdir(parents=True, exist_ok=True)
        data = out_dir / "DM.csv"
        with data.open("w", newline="") as handle:
            handle.write("STUDYID,USUBJID\n")
            for step in range(CALLS):
                for row in range(ROWS_PER_CALL):
                    handle.write(f"{ctx.trial.code},S{step:02d}{row:02d}\n")
                progress(ROWS_PER_CALL)
                export = Export.objects.get(trial=ctx.trial, status=ExportStatus.RUNNING)
                self.seen_done.append(export.units_done)
                self.seen_status.append(export.status)
                if self.fail_at == step:
                    raise self.error
        codebook = out_dir / "codebook" / "DM.json"
        codebook.parent.mkdir()
        codebook.write_text(json.dumps({"USUBJID": "Unique subject identifier"}))
        return [
            WrittenFile(path=data, dataset="DM", rows=ROWS_PER_CALL * CALLS),
            WrittenFile(path=codebook, dataset="DM", rows=0),
        ]


@pytest.fixture
def writer(monkeypatch: pytest.MonkeyPatch) -> Writer:
    stand_in = Writer()
    monkeypatch.setattr("exports.services.runs.total_units", stand_in.total)
    monkeypatch.setattr("exports.services.runs.write_export", stand_in.write)
    return stand_in


def history_reasons(export: Export) -> list[str]:
    return [h.history_change_reason for h in export.history.order_by("history_date", "history_id")]


def test_run_moves_queued_to_done_with_files_and_manifest(
    world: World, writer: Writer, exports_dir: Path
) -> None:
    export = request(world, fmt="csv", as_of=T1)
    done = export_run(export_id=export.pk)
    assert done is not None
    assert done.status == ExportStatus.DONE
    assert (done.units_total, done.units_done, done.percent) == (50, 50, 100)
    assert done.started_at is not None and done.finished_at is not None
    assert done.error == ""
    # The writer got the trial as of the requested instant, blinded.
    (ctx,) = writer.contexts
    assert (ctx.trial, ctx.as_of, ctx.blinded) == (world.trial, T1, True)
    assert ctx.protocol_version == export.protocol_version
    folder = exports_dir / done.files_dir
    assert folder.parent == exports_dir / world.trial.code
    on_disk = json.loads((folder / "manifest.json").read_text())
    assert on_disk == done.manifest
    assert on_disk["trial"] == world.trial.code
    assert on_disk["format"] == "csv"
    assert on_disk["blinded"] is True
    assert on_disk["as_of"] == "2026-03-05T10:00:00+00:00"
    assert on_disk["protocol_version"]["number"] == export.protocol_version.number
    assert on_disk["protocol_version"]["label"] == export.protocol_version.label
    assert on_disk["requested_by"] == world.team.statistician.username
    assert on_disk["row_counts"] == {"DM": 50}
    assert [f["name"] for f in on_disk["files"]] == ["DM.csv", "codebook/DM.json"]
    for item in on_disk["files"]:
        assert item["sha256"] == sha256_of(folder / item["name"])
        assert item["bytes"] == (folder / item["name"]).stat().st_size
    assert history_reasons(done)[1:] == ["Export started", "Export done"]
    # No staging folder is left behind.
    assert [p.name for p in (exports_dir / world.trial.code).iterdir()] == [folder.name]


def test_a_second_run_does_nothing(world: World, writer: Writer) -> None:
    export = request(world)
    first = export_run(export_id=export.pk)
    assert first is not None
    records = first.history.count()
    assert export_run(export_id=export.pk) is None
    again = Export.objects.get(pk=export.pk)
    assert again.files_dir == first.files_dir
    assert again.finished_at == first.finished_at
    assert again.history.count() == records
    assert len(writer.contexts) == 1


def test_a_running_export_is_not_run_again(world: World, writer: Writer) -> None:
    export = request(world)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    assert export_run(export_id=export.pk) is None
    assert writer.contexts == []


def test_an_export_left_running_past_its_time_limit_is_failed_as_interrupted(
    world: World, exports_dir: Path
) -> None:
    stale, fresh, done = request(world), request(world), request(world)
    export_run(export_id=done.pk)
    Export.objects.filter(pk=stale.pk).update(status=ExportStatus.RUNNING, started_at=T1)
    limit = timedelta(hours=4)
    Export.objects.filter(pk=fresh.pk).update(
        status=ExportStatus.RUNNING, started_at=T1 + timedelta(hours=1)
    )
    staging = exports_dir / world.trial.code / f".{stale.pk}-0a1b2c3d.partial"
    staging.mkdir(parents=True)
    (staging / "DM.csv").write_text("STUDYID\n")

    now = T1 + limit + timedelta(minutes=30)
    assert exports_fail_stale(now=now, running_for=limit) == 1
    stale.refresh_from_db()
    assert (stale.status, stale.error, stale.finished_at) == (
        ExportStatus.FAILED,
        STALE_MESSAGE,
        now,
    )
    assert stale.history.first().history_change_reason == "Export interrupted"
    assert not staging.exists()
    assert Export.objects.get(pk=fresh.pk).status == ExportStatus.RUNNING
    assert Export.objects.get(pk=done.pk).status == ExportStatus.DONE
    # Nothing runs it again, and a second sweep changes nothing.
    assert export_run(export_id=stale.pk) is None
    assert exports_fail_stale(now=now, running_for=limit) == 0


def test_beat_runs_the_sweep_with_the_export_task_limit(world: World) -> None:
    from django.utils import timezone

    from ecrf.celery import app
    from exports.tasks import HARD_TIME_LIMIT, fail_stale_exports

    app.loader.import_default_modules()
    assert app.conf.beat_schedule["fail-stale-exports"]["task"] == fail_stale_exports.name
    assert fail_stale_exports.name in app.tasks
    export = request(world)
    started = timezone.now() - timedelta(seconds=HARD_TIME_LIMIT)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, started_at=started)
    assert fail_stale_exports() == 0  # still within its hard limit and a minute's grace
    Export.objects.filter(pk=export.pk).update(started_at=started - timedelta(minutes=2))
    assert fail_stale_exports() == 1
    assert Export.objects.get(pk=export.pk).status == ExportStatus.FAILED


def test_progress_is_stored_while_the_writer_streams(world: World, writer: Writer) -> None:
    export = request(world)
    export_run(export_id=export.pk, progress_interval=0)
    assert writer.seen_done == [10, 20, 30, 40, 50]
    assert set(writer.seen_status) == {ExportStatus.RUNNING}


def test_progress_is_not_stored_per_report(world: World, writer: Writer) -> None:
    export = request(world)
    done = export_run(export_id=export.pk, progress_interval=3600)
    # Nothing reached the database while writing; the final count did.
    assert writer.seen_done == [0, 0, 0, 0, 0]
    assert done is not None and done.units_done == 50


def test_progress_recorder_writes_at_most_once_per_interval(world: World) -> None:
    export = request(world)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, units_total=1000)
    now = [0.0]
    seen: list[tuple[int, int]] = []
    recorder = ProgressRecorder(
        export.pk,
        1000,
        interval=1.0,
        observer=lambda d, t: seen.append((d, t)),
        clock=lambda: now[0],
    )
    for _ in range(100):  # 100 reports within 0.99 s: no write
        recorder(5)
        now[0] += 0.0099
    assert recorder.writes == 0
    assert Export.objects.get(pk=export.pk).units_done == 0
    now[0] = 1.0
    recorder(5)
    assert recorder.writes == 1
    stored = Export.objects.get(pk=export.pk)
    assert (stored.units_done, stored.percent) == (505, 50)
    recorder.flush()
    recorder.flush()
    assert recorder.writes == 1, "nothing new, nothing written"
    assert seen[-1] == (505, 1000)
    assert len(seen) == 101


def test_failure_marks_failed_without_files_or_data_values(
    world: World, monkeypatch: pytest.MonkeyPatch, exports_dir: Path
) -> None:
    failing = Writer(fail_at=2)
    monkeypatch.setattr("exports.services.runs.total_units", failing.total)
    monkeypatch.setattr("exports.services.runs.write_export", failing.write)
    export = request(world)
    failed = export_run(export_id=export.pk)
    assert failed is not None
    assert failed.status == ExportStatus.FAILED
    assert failed.finished_at is not None
    assert "internal error (ValueError)" in failed.error
    assert "VA01-003" not in failed.error and "MSC" not in failed.error
    assert failed.files_dir == "" and failed.manifest == {}
    assert failed.units_done == 0 or failed.units_done <= 30
    assert failed.percent < 100
    # The partial files are gone: nothing is left to offer.
    assert not any(exports_dir.rglob("*.csv"))
    assert history_reasons(failed)[1:] == ["Export started", "Export failed"]
    with pytest.raises(InvalidTransitionError, match="no files to download"):
        export_archive(user=world.team.statistician, export=failed, now=LATER)
    # A failed export stays failed: running it again does nothing.
    assert export_run(export_id=export.pk) is None


def test_a_domain_error_is_shown_as_its_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = Writer(fail_at=0, error=DomainError("The protocol has no form LB at version 1."))
    monkeypatch.setattr("exports.services.runs.total_units", failing.total)
    monkeypatch.setattr("exports.services.runs.write_export", failing.write)
    failed = export_run(export_id=request(world).pk)
    assert failed is not None
    assert failed.error == "The protocol has no form LB at version 1."


def test_a_failing_count_fails_the_export(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_total(ctx: Any, fmt: str) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr("exports.services.runs.total_units", broken_total)
    failed = export_run(export_id=request(world).pk)
    assert failed is not None and failed.status == ExportStatus.FAILED


def test_a_file_written_outside_the_folder_fails_the_export(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stray = tmp_path / "elsewhere.csv"

    def write(ctx: Any, fmt: str, out_dir: Path, progress: Any) -> list[WrittenFile]:
        out_dir.mkdir(parents=True)
        stray.write_text("x\n")
        return [WrittenFile(path=stray, dataset="DM", rows=1)]

    monkeypatch.setattr("exports.services.runs.total_units", lambda ctx, fmt: 1)
    monkeypatch.setattr("exports.services.runs.write_export", write)
    failed = export_run(export_id=request(world).pk)
    assert failed is not None
    assert failed.status == ExportStatus.FAILED
    assert "outside the export's folder" in failed.error


def test_percent_of_queued_and_empty_exports(world: World) -> None:
    export = request(world)
    assert export.percent == 0
    export.units_total, export.units_done = 3, 2
    assert export.percent == 66
    export.status = ExportStatus.DONE
    export.units_total = export.units_done = 0
    assert export.percent == 100

"""`manage.py export`: a real trial exported as of an instant into a folder, with a progress bar
on stderr; who the export is made for; clear errors for bad input."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from exports.models import Export, ExportStatus
from tests.exports.job_fixtures import T2, World, after, lock_trial, populate


def export(world: World, out: Path, *args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "export",
        "--trial",
        world.trial.code,
        "--out",
        str(out),
        *args,
        stdout=stdout,
        stderr=stderr,
    )
    return stdout.getvalue(), stderr.getvalue()


def files_match_manifest(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == {"manifest.json", *(item["name"] for item in manifest["files"])}
    for item in manifest["files"]:
        data = (folder / item["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"], item["name"]
    return dict(manifest)


@pytest.mark.parametrize("fmt", ["csv", "xpt", "odm"])
def test_exports_a_real_trial_as_of_an_instant(world: World, tmp_path: Path, fmt: str) -> None:
    populate(world)
    out = tmp_path / "out"
    stdout, stderr = export(world, out, "--format", fmt, "--as-of", "2026-09-01T13:00:00+02:00")
    manifest_path = out / "manifest.json"
    assert stdout.strip() == str(manifest_path.resolve())
    manifest = files_match_manifest(out)
    assert manifest["trial"] == world.trial.code
    assert manifest["format"] == fmt
    assert manifest["as_of"] == "2026-09-01T11:00:00+00:00"
    assert manifest["blinded"] is True
    assert manifest["requested_by"] == "system"
    assert manifest["protocol_version"]["number"] == 1
    # The progress bar was drawn and finished on stderr; nothing of it on stdout.
    assert "100%" in stderr and "[" + "#" * 30 + "]" in stderr
    assert "\r" in stderr and "\r" not in stdout
    # The export is recorded like any other, done, for the system account.
    recorded = Export.objects.get()
    assert recorded.status == ExportStatus.DONE
    assert recorded.requested_by.username == "system"
    assert recorded.manifest == manifest


def test_as_of_before_and_after_an_entry_differ_and_repeat_identically(
    world: World, tmp_path: Path
) -> None:
    populate(world)
    before = after(T2, seconds=-1).isoformat()
    first = files_match_manifest_after(world, tmp_path / "a", before)
    again = files_match_manifest_after(world, tmp_path / "b", before)
    later = files_match_manifest_after(world, tmp_path / "c", after(T2, seconds=1).isoformat())
    # The same as-of twice: byte-identical files.
    assert [f["sha256"] for f in first["files"]] == [f["sha256"] for f in again["files"]]
    # The SLEDAI-2K entered at T2 is in the later snapshot only.
    assert sum(later["row_counts"].values()) > sum(first["row_counts"].values())


def files_match_manifest_after(world: World, out: Path, as_of: str) -> dict:
    export(world, out, "--format", "csv", "--as-of", as_of)
    return files_match_manifest(out)


def test_unblinded_needs_a_user(world: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="needs --user"):
        export(world, tmp_path / "out", "--format", "csv", "--unblinded")


def test_unblinded_for_an_unblinded_statistician_after_lock(world: World, tmp_path: Path) -> None:
    populate(world)
    user = world.team.unblinded_statistician.username
    with pytest.raises(CommandError, match="only after the trial is locked"):
        export(world, tmp_path / "refused", "--format", "csv", "--unblinded", "--user", user)
    assert not (tmp_path / "refused").exists()
    lock_trial(world)
    out = tmp_path / "out"
    export(world, out, "--format", "csv", "--unblinded", "--user", user)
    manifest = files_match_manifest(out)
    assert manifest["blinded"] is False
    assert manifest["requested_by"] == user


def test_blinded_statistician_cannot_export_unblinded(world: World, tmp_path: Path) -> None:
    lock_trial(world)
    with pytest.raises(CommandError, match="Only an unblinded statistician"):
        export(
            world,
            tmp_path / "out",
            "--format",
            "csv",
            "--unblinded",
            "--user",
            world.team.statistician.username,
        )


def test_a_coordinator_is_refused(world: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Only a statistician"):
        export(
            world, tmp_path / "out", "--format", "csv", "--user", world.team.coordinator.username
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "1st of March"], "not an ISO 8601 date"),
        (["--as-of", "2099-01-01"], "lies in the future"),
        (["--as-of", "2020-01-01"], "did not exist yet"),
        (["--user", "nobody"], "No active user 'nobody'"),
    ],
)
def test_bad_input_is_a_clear_error(
    world: World, tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        export(world, tmp_path / "out", "--format", "csv", *args)
    assert not Export.objects.exists()


def test_unknown_trial(world: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No trial 'NOPE'"):
        call_command("export", "--trial", "NOPE", "--format", "csv", "--out", str(tmp_path))


def test_unknown_format_is_refused_by_the_parser(world: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        export(world, tmp_path / "out", "--format", "sav")


def test_a_folder_with_files_is_refused(world: World, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="not an empty folder"):
        export(world, out, "--format", "csv")
    assert (out / "notes.txt").read_text() == "mine"


def test_writes_raw_tables_beside_the_export_when_asked(world: World, tmp_path: Path) -> None:
    populate(world)
    out = tmp_path / "out"
    export(world, out, "--format", "csv", "--raw-tables", "--raw-layout", "long")
    raw = out / "raw"
    assert {"forms_long.csv", "labels.csv", "review_queries.csv", "load.sas", "load.R"} <= {
        path.name for path in raw.iterdir()
    }
    assert ",sledai2k," in (raw / "forms_long.csv").read_text()
    assert not (raw / "infusion.csv").exists()

"""Export jobs with the real format writers: the files and manifest on disk agree, progress ends
at the count announced, the same as-of instant gives the same bytes, and a blinded export holds
nothing that reveals the allocation while an unblinded one (after lock) does."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from exports.models import Export, ExportStatus
from exports.services import export_archive, export_run
from exports.services.runs import sha256_of
from tests.exports.job_fixtures import (
    LATER,
    T1,
    T2,
    World,
    after,
    check_manifest_hashes,
    lock_trial,
    populate,
    read_zip,
    request,
)

FORMATS = ["csv", "xpt", "odm"]


def run(world: World, actor: Any = None, **kwargs: Any) -> Export:
    export = request(world, actor, **kwargs)
    done = export_run(export_id=export.pk)
    assert done is not None
    assert done.status == ExportStatus.DONE, done.error
    return done


def csv_header(folder: Path, name: str) -> list[str]:
    with (folder / name).open(newline="") as handle:
        return next(csv.reader(handle))


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_agree_with_the_manifest_and_progress_reaches_the_count(
    world: World, exports_dir: Path, fmt: str
) -> None:
    populate(world)
    done = run(world, fmt=fmt, as_of=after(T2, hours=1))
    folder = exports_dir / done.files_dir
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == done.manifest
    assert manifest["format"] == fmt
    assert manifest["as_of"] == "2026-09-01T11:00:00+00:00"
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == {
        "manifest.json",
        *(item["name"] for item in manifest["files"]),
    }
    for item in manifest["files"]:
        assert item["sha256"] == sha256_of(folder / item["name"])
    rows: dict[str, int] = {}
    for item in manifest["files"]:
        rows[item["dataset"]] = rows.get(item["dataset"], 0) + item["rows"]
    assert manifest["row_counts"] == rows
    if fmt != "odm":
        # The medical history and reproductive findings are datasets of every tabular export.
        assert {"MH", "RP", "DEFINE"} <= rows.keys()
    assert done.units_total > 0
    assert done.units_done == done.units_total, "the writers report what they announced"
    members = read_zip(b"".join(export_archive(user=world.team.statistician, export=done).chunks))
    assert check_manifest_hashes(members) == manifest


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_as_of_twice_gives_byte_identical_files(world: World, fmt: str) -> None:
    populate(world)
    first = run(world, fmt=fmt, as_of=after(T2, hours=1))
    second = run(world, fmt=fmt, as_of=after(T2, hours=1))
    assert first.files_dir != second.files_dir
    assert [(f["name"], f["sha256"]) for f in first.manifest["files"]] == [
        (f["name"], f["sha256"]) for f in second.manifest["files"]
    ]
    assert first.manifest["generated_at"] <= second.manifest["generated_at"]


def test_as_of_rebuilds_the_past(world: World, exports_dir: Path) -> None:
    populate(world)
    before = run(world, as_of=after(T2, seconds=-1))
    since = run(world, as_of=after(T2, seconds=1))
    assert before.manifest["row_counts"]["DM"] == since.manifest["row_counts"]["DM"] == 1
    assert since.manifest["row_counts"]["RS"] > before.manifest["row_counts"]["RS"]
    nothing_yet = run(world, as_of=after(T1, seconds=-1))
    assert nothing_yet.manifest["row_counts"]["DM"] == 0


def test_blinded_export_reveals_nothing_and_unblinded_does(world: World, exports_dir: Path) -> None:
    populate(world)
    lock_trial(world)
    blinded = run(world, world.team.unblinded_statistician, fmt="csv")
    unblinded = run(world, world.team.unblinded_statistician, fmt="csv", unblinded=True)
    blinded_folder = exports_dir / blinded.files_dir
    unblinded_folder = exports_dir / unblinded.files_dir
    # The arm is there in both, masked alike for every participant in the blinded one.
    with (blinded_folder / "DM.csv").open(encoding="utf-8", newline="") as handle:
        assert {row["ARMCD"] for row in csv.DictReader(handle)} <= {"", "BLINDED"}
    assert "ARMCD" in csv_header(unblinded_folder, "DM.csv")
    assert "EX" not in blinded.manifest["row_counts"]
    assert "EX" in unblinded.manifest["row_counts"]
    assert unblinded.manifest["blinded"] is False


def test_blinded_odm_holds_no_arm(world: World, exports_dir: Path) -> None:
    populate(world)
    done = run(world, fmt="odm")
    text = "".join(
        (exports_dir / done.files_dir / f["name"]).read_text() for f in done.manifest["files"]
    )
    assert "ARMCD" not in text
    members = read_zip(b"".join(export_archive(user=world.team.statistician, export=done).chunks))
    assert check_manifest_hashes(members)["blinded"] is True


def test_csv_files_in_the_zip_parse(world: World) -> None:
    populate(world)
    done = run(world, fmt="csv", as_of=LATER)
    members = read_zip(b"".join(export_archive(user=world.team.statistician, export=done).chunks))
    dm = list(csv.DictReader(io.StringIO(members["DM.csv"].decode())))
    assert len(dm) == done.manifest["row_counts"]["DM"] == 1
    assert dm[0]["STUDYID"]

"""Raw tables requested from the statisticians' page and the API: run by the export job,
blinded as the export is, listed in its manifest and downloaded with it; refused to site
staff. The R load program reads them back with their labels when R is installed."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

from django.test import Client

from exports.models import Export, ExportStatus
from exports.selectors import exports_root
from exports.services import export_run
from tests.exports.job_fixtures import World, check_manifest_hashes, lock_trial, populate
from tests.exports.job_fixtures import read_zip as unzip
from tests.exports.test_export_api import EXPORTS, post_export, with_token

PAGE = "/exports/"
# Fields of the infusion form that MSVLE names allocation-revealing.
REVEALING = {"kit_number", "cell_count_1e6"}


def header(data: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(data.decode())))


def test_statistician_asks_the_page_for_wide_raw_tables_and_downloads_them_blinded(
    client: Client, world: World
) -> None:
    populate(world)
    client.force_login(world.team.statistician)
    client.post(
        f"{PAGE}request/", {"format": "csv", "as_of": "2026-09-02T00:00", "raw_layout": "wide"}
    )
    export = Export.objects.get()
    assert (export.raw_layout, export.blinded) == ("wide", True)
    done = export_run(export_id=export.pk)
    assert done is not None and done.status == ExportStatus.DONE, done and done.error
    names = {item["name"]: item for item in done.manifest["files"]}
    assert {"DM.csv", "raw/sledai2k.csv", "raw/labels.csv", "raw/load.R", "raw/load.sas"} <= set(
        names
    )
    assert names["raw/sledai2k.csv"]["dataset"] == "raw/sledai2k"
    assert names["raw/sledai2k.csv"]["rows"] == 1
    assert done.manifest["raw_layout"] == "wide"
    assert "With raw tables (Wide" in client.get(PAGE).content.decode()
    reply = client.get(f"/exports/{done.pk}/download/")
    members = unzip(b"".join(reply.streaming_content))
    check_manifest_hashes(members)
    infusion = set(header(members["raw/infusion.csv"]))
    assert "participant" in infusion and not REVEALING & infusion
    # Site staff get neither the files nor a raw table export of their own.
    client.force_login(world.team.coordinator)
    assert client.get(f"/exports/{done.pk}/download/").status_code == 404
    refused = client.post(f"{PAGE}request/", {"format": "csv", "raw_layout": "wide"})
    assert refused.status_code == 403
    assert Export.objects.count() == 1


def test_the_page_refuses_an_unknown_layout(client: Client, world: World) -> None:
    client.force_login(world.team.statistician)
    reply = client.post(f"{PAGE}request/", {"format": "csv", "raw_layout": "tall"})
    assert reply.status_code == 400
    assert not Export.objects.exists()


def test_api_runs_long_raw_tables_in_the_export_job(world: World) -> None:
    populate(world)
    reply = post_export(world.team.statistician, world, raw_layout="long")
    assert reply.status_code == 202, reply.json()
    body = reply.json()
    assert (body["raw_layout"], body["blinded"]) == ("long", True)
    export_run(export_id=body["id"])
    api = with_token(world.team.statistician)
    detail = api.get(f"{EXPORTS}{body['id']}/").json()
    assert detail["status"] == "done", detail["error"]
    members = unzip(b"".join(api.get(detail["download_url"]).streaming_content))
    assert check_manifest_hashes(members) == detail["manifest"]
    assert {"raw/forms_long.csv", "raw/review_queries.csv", "raw/load.R"} <= set(members)
    assert "raw/sledai2k.csv" not in members
    assert b",sledai2k," in members["raw/forms_long.csv"]
    fields = {
        row["field"] for row in csv.DictReader(io.StringIO(members["raw/forms_long.csv"].decode()))
    }
    assert fields and not REVEALING & fields


def test_api_refuses_raw_tables_to_site_staff_and_unknown_layouts(world: World) -> None:
    refused = post_export(world.team.coordinator, world, raw_layout="wide")
    assert refused.status_code == 403
    wrong = post_export(world.team.statistician, world, raw_layout="tall")
    assert wrong.status_code == 400
    assert "raw_layout" in wrong.json()["error"]["fields"]
    assert not Export.objects.exists()


def test_unblinded_raw_tables_keep_the_revealing_fields(world: World) -> None:
    lock_trial(world)
    reply = post_export(world.team.unblinded_statistician, world, unblinded=True, raw_layout="wide")
    assert reply.status_code == 202, reply.json()
    done = export_run(export_id=reply.json()["id"])
    assert done is not None and done.status == ExportStatus.DONE
    folder = exports_root() / done.files_dir / "raw"
    assert set(header((folder / "infusion.csv").read_bytes())) >= REVEALING


# Sources load.R, then writes what R holds: every variable label, every value label, and each
# coded column's first value as haven decodes it.
R_CHECK = r"""
args <- commandArgs(trailingOnly = TRUE)
raw_dir <- args[1]
source(file.path(raw_dir, "load.R"), encoding = "UTF-8")
out <- character()
for (t in names(raw)) for (v in names(raw[[t]])) {
  x <- raw[[t]][[v]]
  out <- c(out, paste("label", t, v, attr(x, "label"), sep = "\t"))
  labs <- attr(x, "labels")
  if (is.null(labs)) next
  out <- c(out, paste("value", t, v, unname(labs), names(labs), sep = "\t"))
  given <- x[!is.na(x)]
  if (length(given) > 0) {
    decoded <- haven::as_factor(haven::labelled(given[1], labs), levels = "labels")
    out <- c(out, paste("decoded", t, v, given[1], as.character(decoded), sep = "\t"))
  }
}
con <- file(args[2], open = "w", encoding = "UTF-8")
writeLines(out, con)
close(con)
"""


def test_r_reads_the_raw_tables_back_with_their_labels(world: World, tmp_path: Path) -> None:
    # `make test` installs R first (`make r`); without it this test fails rather than skips.
    assert shutil.which("Rscript"), "Rscript is missing: run `make r` (r-base-core, r-cran-haven)"
    populate(world)
    reply = post_export(world.team.statistician, world, raw_layout="wide")
    done = export_run(export_id=reply.json()["id"])
    assert done is not None and done.status == ExportStatus.DONE
    raw = exports_root() / done.files_dir / "raw"
    script, facts = tmp_path / "check.R", tmp_path / "facts.tsv"
    script.write_text(R_CHECK, encoding="utf-8")
    subprocess.run(
        ["Rscript", "--vanilla", str(script), str(raw), str(facts)],
        check=True,
        capture_output=True,
        env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    read_back = {tuple(line.split("\t")) for line in facts.read_text(encoding="utf-8").splitlines()}
    expected = set()
    decodes = {}
    with (raw / "labels.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["value"]:
                expected.add(("value", row["table"], row["variable"], row["value"], row["decode"]))
                decodes[(row["table"], row["variable"], row["value"])] = row["decode"]
            else:
                expected.add(("label", row["table"], row["variable"], row["label"]))
    assert expected <= read_back, sorted(expected - read_back)[:5]
    decoded = [fact for fact in read_back if fact[0] == "decoded"]
    assert any(table == "sledai2k" for _, table, *_ in decoded)
    for _, table, variable, code, decode in decoded:
        assert decodes[(table, variable, code)] == decode

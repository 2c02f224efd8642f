"""Blinded exports hold no allocation-revealing variable or value; unblinded ones add EX."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from ecrf.errors import PermissionDeniedError
from exports.datasets import DATASETS, exported_datasets, revealing_sources
from exports.datasets.allocation import BlindedExportError, allocations
from exports.datasets.common import Definitions, subjects
from exports.models import Export, ExportStatus
from exports.raw import write_raw
from exports.selectors import exports_root
from exports.services import export_request, export_run
from tests.exports.dataset_fixtures import (
    CELLS_MSC,
    KITS,
    LATEST,
    LOTS,
    VIABILITY_MSC,
    read_csv,
    read_xpt,
    rows_of,
    write,
)

ARM_VARIABLES = {"ARMCD", "ARM", "ACTARMCD", "ACTARM"}
# The only values a blinded export writes in them: one mask for every participant with an arm.
MASKS = {"", "BLINDED", "Blinded"}


def _forbidden_text() -> list[re.Pattern[bytes]]:
    """Everything that would tell a reader the arm, as it could appear in a file's bytes."""
    words = ["MSC", "PLACEBO", "Mesenchymal stem cells (MSC)", *KITS, *LOTS]
    words += [str(CELLS_MSC), str(VIABILITY_MSC), "10^6 CELLS", "cells/kg"]
    return [re.compile(rb"(?i)\b" + re.escape(word.encode()) + rb"(?![\w.])") for word in words]


def _revealing_numbers() -> list[float]:
    per_kg = float(CELLS_MSC * 1_000_000 / 65)
    return [float(CELLS_MSC), float(VIABILITY_MSC), per_kg, 2_000_000.0]


def _assert_blinded_files(files: list[Path]) -> None:
    names = {path.name for path in files}
    assert not {"ex.xpt", "EX.csv", "EX_codebook.csv", "suppex.xpt", "SUPPEX.csv"} & names
    patterns = _forbidden_text()
    for path in files:
        data = path.read_bytes()
        for pattern in patterns:
            assert not pattern.search(data), f"{path.name} holds {pattern.pattern!r}"
        if path.suffix == ".xpt":
            frame, meta = read_xpt(path)
            for name in ARM_VARIABLES & set(frame.columns):
                assert set(frame[name]) <= MASKS, (path.name, name)
            assert meta.table_name != "EX"
            for column in frame.columns:
                if frame[column].dtype.kind == "f":
                    values = [v for v in frame[column].tolist() if not math.isnan(v)]
                    for number in _revealing_numbers():
                        assert not any(math.isclose(v, number) for v in values), (path, column)
        elif path.name.endswith("_codebook.csv"):
            continue
        else:
            for row in read_csv(path):
                assert {row[name] for name in ARM_VARIABLES & set(row)} <= MASKS, path.name


def test_a_blinded_export_reveals_no_allocation(sdtm_trial, tmp_path) -> None:
    ctx = sdtm_trial.ctx(LATEST)
    for fmt in ("csv", "xpt"):
        written, _ = write(ctx, fmt, tmp_path / fmt)
        assert "EX" not in {item.dataset for item in written}
        assert sorted(tmp_path.joinpath(fmt).iterdir()) == sorted(item.path for item in written)
        _assert_blinded_files([item.path for item in written])
    # The same files, unblinded, do carry what was searched for: the search can find it.
    written, _ = write(sdtm_trial.ctx(LATEST, blinded=False), "csv", tmp_path / "unblinded")
    text = b"".join(item.path.read_bytes() for item in written)
    assert all(pattern.search(text) for pattern in _forbidden_text())


def test_variables_taken_from_revealing_fields_are_marked_revealing() -> None:
    from casebook.catalogue import form_types

    named = {f"{code}.{name}" for code, ftype in form_types().items() for name in ftype.revealing}
    named.add("infusion.arm")
    assert "infusion.cell_count_1e6" in named
    for dataset in DATASETS:
        for variable in dataset.variables:
            if named & set(variable.source):
                assert variable.revealing or variable.masked or dataset.unblinded_only, (
                    variable.name
                )
    dm = {variable.name: variable for variable in DATASETS[0].variables}
    assert all(dm[name].masked for name in ARM_VARIABLES)


def test_revealing_fields_come_from_form_types_and_the_protocol(sdtm_trial) -> None:
    sources = revealing_sources(sdtm_trial.ctx())
    # Named by the infusion form type ...
    assert {"infusion.kit_number", "infusion.cell_count_1e6", "infusion.dose_warnings"} <= sources
    # ... and by the protocol's blinding.allocation_revealing, which also names the arm.
    assert "infusion.arm" in sources
    assert "infusion.volume_ml" not in sources


def test_a_field_the_protocol_calls_revealing_disappears(sdtm_trial, monkeypatch) -> None:
    import exports.datasets as datasets

    ctx = sdtm_trial.ctx()
    before = {e.name: [v.name for v in e.variables] for e in exported_datasets(ctx)}
    assert "ECDOSE" in before["EC"]
    original = datasets.revealing_sources
    monkeypatch.setattr(
        datasets, "revealing_sources", lambda c: original(c) | {"infusion.volume_ml"}
    )
    after = {e.name: e for e in exported_datasets(ctx)}
    assert "ECDOSE" not in [v.name for v in after["EC"].variables]
    rows = list(after["EC"].rows(ctx))
    assert rows and all(len(row) == len(after["EC"].variables) for row in rows)
    assert 100.0 not in {value for row in rows for value in row}
    # The unblinded export keeps it.
    unblinded = {e.name: e for e in exported_datasets(sdtm_trial.ctx(blinded=False))}
    assert "ECDOSE" in [v.name for v in unblinded["EC"].variables]


def test_allocation_is_never_read_for_a_blinded_export(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx()
    batch = subjects(ctx)
    with pytest.raises(BlindedExportError):
        allocations(ctx, batch, Definitions(ctx))
    unblinded = sdtm_trial.ctx(blinded=False)
    found = allocations(unblinded, subjects(unblinded), Definitions(unblinded))
    assert {arm.code for arm in found.values()} == {"MSC", "PLACEBO"}


def test_the_unblinded_export_has_ex_with_the_dose(sdtm_trial, tmp_path) -> None:
    ctx = sdtm_trial.ctx(LATEST, blinded=False)
    written, _ = write(ctx, "xpt", tmp_path)
    assert "EX" in [item.dataset for item in written]
    frame, meta = read_xpt(tmp_path / "ex.xpt")
    assert meta.table_name == "EX"
    by_subject = {row["USUBJID"]: row for row in frame.to_dict("records")}
    msc = by_subject[sdtm_trial.usubjid(sdtm_trial.p1)]
    placebo = by_subject[sdtm_trial.usubjid(sdtm_trial.p2)]
    assert (msc["EXTRT"], msc["EXDOSE"], msc["EXDOSU"]) == (
        "MESENCHYMAL STEM CELLS (MSC)",
        float(CELLS_MSC),
        "10^6 CELLS",
    )
    assert msc["EXLOT"] == LOTS[0]
    assert (placebo["EXTRT"], placebo["EXDOSE"]) == ("PLACEBO", 0.0)
    # The sponsor's dose variables are qualifiers of EX in SUPPEX, unblinded like EX.
    assert not {"EXDOSKG", "EXPDOSKG", "EXVIAB", "EXKITNO"} & set(frame.columns)
    supp, meta = read_xpt(tmp_path / "suppex.xpt")
    assert meta.table_name == "SUPPEX"
    seq = {row["USUBJID"]: str(int(row["EXSEQ"])) for row in frame.to_dict("records")}
    values = {
        (row["USUBJID"], row["QNAM"]): row["QVAL"]
        for row in supp.to_dict("records")
        if row["IDVARVAL"] == seq[row["USUBJID"]]
    }
    msc_id, placebo_id = sdtm_trial.usubjid(sdtm_trial.p1), sdtm_trial.usubjid(sdtm_trial.p2)
    assert float(values[(msc_id, "EXDOSKG")]) == pytest.approx(float(CELLS_MSC) * 1e6 / 65.0)
    assert (
        values[(msc_id, "EXPDOSKG")],
        float(values[(msc_id, "EXVIAB")]),
        values[(msc_id, "EXKITNO")],
    ) == ("2000000", float(VIABILITY_MSC), KITS[0])
    assert values[(placebo_id, "EXPDOSKG")] == "0"
    assert set(supp["IDVAR"]) == {"EXSEQ"} and set(supp["RDOMAIN"]) == {"EX"}
    dm, _ = read_xpt(tmp_path / "dm.xpt")
    arms = dict(zip(dm["USUBJID"], dm["ARMCD"], strict=True))
    assert arms[sdtm_trial.usubjid(sdtm_trial.p1)] == "MSC"
    assert arms[sdtm_trial.usubjid(sdtm_trial.p2)] == "PLACEBO"
    assert arms[sdtm_trial.usubjid(sdtm_trial.p3)] == ""


def test_the_blinded_statistician_gets_a_blinded_export(sdtm_trial, settings, tmp_path) -> None:
    settings.EXPORTS_DIR = str(tmp_path / "exports")
    team = sdtm_trial.team
    now = LATEST + timedelta(hours=1)
    with pytest.raises(PermissionDeniedError):
        export_request(
            actor=team.statistician,
            trial=team.trial,
            fmt="csv",
            as_of=LATEST,
            unblinded=True,
            now=now,
            enqueue=False,
        )
    for fmt in ("csv", "xpt"):
        export = export_request(
            actor=team.statistician,
            trial=team.trial,
            fmt=fmt,
            as_of=LATEST,
            now=now,
            enqueue=False,
        )
        assert export.blinded
        export_run(export_id=export.pk)
        export = Export.objects.get(pk=export.pk)
        assert export.status == ExportStatus.DONE, export.error
        folder = exports_root() / export.files_dir
        data = sorted(path.name for path in folder.iterdir() if path.name != "manifest.json")
        expected = [name for d in exported_datasets(sdtm_trial.ctx(LATEST)) for name in (
            f"{d.name}.csv" if fmt == "csv" else f"{d.name.lower()}.xpt", f"{d.name}_codebook.csv"
        )]  # fmt: skip
        assert data == sorted([*expected, "acrf.html", "define.xml", "define.xsl"])
        _assert_blinded_files([path for path in folder.iterdir() if path.name != "manifest.json"])
    # The rows of the blinded DM are those of the trial, with the arm masked alike for all
    # participants allocated one; the null-arm reasons are those of the unblinded export.
    dm = rows_of(sdtm_trial.ctx(LATEST), "DM")
    unblinded = rows_of(sdtm_trial.ctx(LATEST, blinded=False), "DM")
    assert [(row["ARMCD"], row["ARM"], row["ACTARMCD"], row["ACTARM"]) for row in dm] == [
        ("BLINDED", "Blinded", "BLINDED", "Blinded"),
        ("BLINDED", "Blinded", "BLINDED", "Blinded"),
        (None, None, None, None),
        (None, None, None, None),
    ]
    assert (
        [row["ARMNRS"] for row in dm]
        == [row["ARMNRS"] for row in unblinded]
        == [
            "",
            "",
            "SCREEN FAILURE",
            "NOT ASSIGNED",
        ]
    )


def test_raw_tables_hold_codes_labels_programs_and_no_allocation(sdtm_trial, tmp_path) -> None:
    unblinded = tmp_path / "unblinded"
    write_raw(sdtm_trial.ctx(blinded=False), unblinded)
    p1 = sdtm_trial.p1
    p1.refresh_from_db()
    infusion = pd.read_csv(unblinded / "infusion.csv", dtype=str, keep_default_na=False)
    mine = infusion[infusion["participant"] == p1.identifier].iloc[0]
    assert mine["visit"] == "D0"
    assert mine["kit_number"] == KITS[0] and mine["product_lot"] == LOTS[0]
    assert mine["given"] == "Y" and mine["volume_ml"] == "100"
    assert mine["start_time"] == "2026-03-04T09:00:00+00:00"
    assert mine["entered_at"].endswith("+00:00") and int(mine["version"]) >= 2
    vitals = pd.read_csv(unblinded / "vitals.csv", dtype=str, keep_default_na=False)
    assert {"15min", "2h", "pre_dose"} <= set(vitals["timepoint"])

    labels = pd.read_csv(unblinded / "labels.csv", dtype=str, keep_default_na=False)
    vital_labels = labels[labels["table"] == "vitals"]
    decodes = vital_labels[vital_labels["variable"] == "timepoint"]
    assert "pre_dose" in set(decodes["value"]) and (decodes["decode"] != "").sum() >= 3
    measured = vital_labels[vital_labels["variable"] == "measured_at"]["label"]
    assert list(measured) == ["Measured at"]
    queries = pd.read_csv(unblinded / "review_queries.csv", dtype=str, keep_default_na=False)
    assert len(queries) and queries["participant"].isin(infusion["participant"]).all()
    assert queries["opened_at"].str.endswith("+00:00").all()
    for name in ("review_queries", "review_sdv", "review_signatures", "review_locks"):
        assert (unblinded / f"{name}.csv").exists()

    programs = {name: (unblinded / name).read_text() for name in ("load.sas", "load.R", "load.do")}
    for table in ("infusion.csv", "vitals.csv", "review_queries.csv"):
        columns = pd.read_csv(unblinded / table, nrows=0).columns
        stem = table.removesuffix(".csv")
        for text in programs.values():
            assert stem in text
            assert all(column in text for column in columns)
    assert "proc format;" in programs["load.sas"] and "label define" in programs["load.do"]

    blinded = tmp_path / "blinded"
    write_raw(sdtm_trial.ctx(), blinded)
    hidden = pd.read_csv(blinded / "infusion.csv", dtype=str, keep_default_na=False)
    assert {"kit_number", "product_lot", "dose_cells_per_kg"}.isdisjoint(hidden.columns)
    assert "volume_ml" in hidden.columns
    for path in blinded.iterdir():
        text = path.read_text()
        assert not any(word in text for word in (*KITS, *LOTS)), path.name
        assert "kit_number" not in text, path.name

    long = tmp_path / "long"
    write_raw(sdtm_trial.ctx(), long, layout="long")
    rows = pd.read_csv(long / "forms_long.csv", dtype=str, keep_default_na=False)
    assert list(rows.columns) == ["participant", "visit", "form", "record_id", "field", "value"]
    assert "kit_number" not in set(rows["field"]) and "volume_ml" in set(rows["field"])

"""Raw tables: one CSV per form with codes, their labels, the review state, the load programs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from exports.raw import write_raw
from tests.exports.dataset_fixtures import KITS, LOTS, Trial


def test_raw_tables_values_labels_programs_and_blinding(sdtm_trial: Trial, tmp_path: Path) -> None:
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

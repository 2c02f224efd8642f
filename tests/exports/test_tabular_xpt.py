"""SAS transport v5: every dataset fits its limits, pieces join into the file pyreadstat would
write in one go, long text is cut at a character boundary, and memory stays flat."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from exports import cells, tabular
from exports.base import Dataset, ExportContext, Variable
from exports.cells import cell, csv_converter, csv_rows, number_text
from exports.datasets import DATASETS, ExportedDataset
from exports.datasets.common import Layout
from exports.tabular import (
    XPT_STAMPS,
    check_xpt_limits,
    normalized,
    stamp_xpt_header,
    write_csv,
    write_xpt,
    xpt_stamp,
)
from tests.exports.dataset_fixtures import read_csv

AS_OF = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
VARIABLES = (
    Variable("USUBJID", "Unique Subject Identifier"),
    Variable("XXSEQ", "Sequence Number", "Num"),
    Variable("XXTERM", "Reported Term"),
    Variable("XXVAL", "Value", "Num"),
    Variable("XXSHORT", "Short Text", length=10),
)


def _dataset(rows: list[tuple[object, ...]] | None = None, *, count: int = 0) -> ExportedDataset:
    def generate(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
        if rows is not None:
            yield from rows
            return
        for index in range(count):
            yield (f"TRIAL-{index // 7:05d}", index + 1, f"Term number {index}", index / 3, "ok")

    dataset = Dataset(
        name="XX",
        label="Test Domain",
        variables=VARIABLES,
        rows=generate,
        count=lambda ctx: len(rows) if rows is not None else count,
    )
    return ExportedDataset(dataset, VARIABLES, tuple(range(len(VARIABLES))))


def _ctx() -> ExportContext:
    return ExportContext(trial=None, protocol_version=None, as_of=AS_OF)  # type: ignore[arg-type]


ROWS: list[tuple[object, ...]] = [
    ("S-001", 1, "Fiebre", 38.5, "a"),
    ("S-001", 2, None, None, None),
    ("S-002", 1, "Náuseas y vómitos", -1.25, "b"),
    ("S-002", 2, "", 0, ""),
    ("S-003", 1, "Cefalea", 1e-7, "c"),
    ("S-003", 2, "x" * 150 + " ñandú", 123456789.125, "d"),  # the widest value comes late
    ("S-004", 1, "Line\nbreak\tand trailing   ", 2.0, "e"),
]


def test_pieces_join_into_what_pyreadstat_writes_in_one_go(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tabular, "XPT_CHUNK_ROWS", 2)
    exported = _dataset(ROWS)
    reports: list[int] = []
    path = tmp_path / "xx.xpt"
    assert write_xpt(_ctx(), exported, path, reports.append) == len(ROWS)
    assert sum(reports) == len(ROWS)

    values = list(normalized(VARIABLES, ROWS))
    frame = pd.DataFrame(
        {
            v.name: pd.Series(
                [row[i] for row in values], dtype=object if v.type == "Char" else float
            )
            for i, v in enumerate(VARIABLES)
        }
    )
    whole = tmp_path / "whole.xpt"
    pyreadstat.write_xport(
        frame,
        str(whole),
        file_label="Test Domain",
        column_labels=[v.label for v in VARIABLES],
        table_name="XX",
        file_format_version=5,
    )
    expected = whole.read_bytes()
    start = expected.index(tabular.OBS_HEADER) + 80
    expected = stamp_xpt_header(expected[:start], AS_OF) + expected[start:]
    assert path.read_bytes() == expected

    back, meta = pyreadstat.read_xport(str(path))
    assert meta.table_name == "XX" and meta.file_label == "Test Domain"
    assert meta.column_labels == [v.label for v in VARIABLES]
    assert back["XXTERM"].tolist() == [row[2] for row in values]
    assert back["XXTERM"][6] == "Line break and trailing"
    assert back["XXVAL"][1] != back["XXVAL"][1]  # missing is NaN
    assert back["XXVAL"].tolist()[2:] == [-1.25, 0.0, 1e-7, 123456789.125, 2.0]


def test_an_empty_dataset_is_a_readable_file_with_its_variables(tmp_path) -> None:
    path = tmp_path / "xx.xpt"
    reports: list[int] = []
    assert write_xpt(_ctx(), _dataset([]), path, reports.append) == 0
    assert reports == []
    frame, meta = pyreadstat.read_xport(str(path))
    assert list(frame.columns) == [v.name for v in VARIABLES] and len(frame) == 0
    assert meta.table_name == "XX"
    assert path.read_bytes()[XPT_STAMPS[0] : XPT_STAMPS[0] + 16] == b"02APR26:12:00:00"


def test_text_is_ascii_in_xpt_and_cut_at_200_bytes_on_a_character_boundary(tmp_path) -> None:
    long = "é" * 250  # 500 bytes in UTF-8
    rows = [
        ("S-001", 1, long, 1.0, "a" * 12),
        ("S-002", 1, "SLEDAI-2K ≥ 10, Ñandú — 38 °C, ½ µg\u3000😀", 2.0, "≤ 5"),
    ]
    write_xpt(_ctx(), _dataset(rows), tmp_path / "xx.xpt", lambda n: None)
    write_csv(_ctx(), _dataset(rows), tmp_path / "XX.csv", lambda n: None)
    frame, meta = pyreadstat.read_xport(str(tmp_path / "xx.xpt"))
    assert frame["XXTERM"].tolist() == ["e" * 200, "SLEDAI-2K >= 10, Nandu - 38 degC, 1/2 ug ?"]
    assert meta.variable_storage_width["XXTERM"] == 200
    assert frame["XXSHORT"].tolist() == ["a" * 10, "<= 5"]  # its own length, 10
    # CSV keeps UTF-8, cut at 200 bytes without splitting a character.
    assert [row["XXTERM"] for row in read_csv(tmp_path / "XX.csv")] == [
        "é" * 100,
        "SLEDAI-2K ≥ 10, Ñandú — 38 °C, ½ µg\u3000😀",
    ]


def test_cells_are_typed_strictly() -> None:
    text, number = VARIABLES[2], VARIABLES[3]
    assert cell(text, None) == "" and cell(text, " a\r\nb  ") == " a b"
    assert math.isnan(cell(number, None))  # type: ignore[arg-type]
    assert cell(number, 3) == 3.0 and isinstance(cell(number, 3), float)
    for wrong in ("3", True):
        with pytest.raises(TypeError):
            cell(number, wrong)
    with pytest.raises(TypeError):
        cell(text, 3)
    assert [number_text(v) for v in (1.0, -2.0, 0.5, math.nan, 1e20)] == [
        "1",
        "-2",
        "0.5",
        "",
        "1e+20",
    ]


def test_csv_cells_are_the_stored_values_as_text() -> None:
    text, number, short = VARIABLES[2], VARIABLES[3], VARIABLES[4]
    assert csv_converter(number)(None) == ""
    for value in (0, 7, -12, 10**15 - 1, 10**15, 2**60, 2.5, Decimal("12.50"), 1e20, math.nan):
        assert csv_converter(number)(value) == number_text(cell(number, value)), value
    assert csv_converter(number)(10**15) == "1000000000000000.0"  # as a float, like 1e15
    with pytest.raises(TypeError, match="XXVAL"):
        csv_converter(number)(True)
    assert csv_converter(short)("  twelve chars  ") == "  twelve c"
    assert csv_converter(short)("ñandú ñandú") == "ñandú ñ"  # 10 bytes, cut at a character
    assert csv_converter(text)("tab\there \x00") == "tab here \x00"  # only blanks replaced


def test_compiled_csv_rows_give_the_cells_of_the_converters() -> None:
    rows = [
        *ROWS,
        *ROWS,
        ("S-005", 2**60, "Fiebre", Decimal("12.50"), "a"),
        ("S-006", 10**15, "x", 1e20, "b"),
    ]
    converters = [csv_converter(variable) for variable in VARIABLES]
    expected = [
        [convert(value) for convert, value in zip(converters, row, strict=True)] for row in rows
    ]
    assert list(csv_rows(VARIABLES, tuple(range(5)))(rows)) == expected
    # Only some columns, reordered, one masked: as the blinded export picks and masks them.
    picked = list(csv_rows(VARIABLES, (4, 0, 2), ((2, "MASKED"),))(rows))
    masked = ["" if row[2] in (None, "") else "MASKED" for row in rows]
    assert picked == [[got[4], got[0], mask] for got, mask in zip(expected, masked, strict=True)]
    with pytest.raises(ValueError, match="A row has 4 values for 5 variables"):
        list(csv_rows(VARIABLES, (0,))([("S", 1, "x", 2)]))
    with pytest.raises(TypeError, match="XXVAL"):
        list(csv_rows(VARIABLES, tuple(range(5)))([("S", 1, "x", True, "a")]))
    with pytest.raises(TypeError, match="XXTERM"):
        list(csv_rows(VARIABLES, tuple(range(5)))([("S", 1, 5, 1, "a")]))


def test_remembered_texts_give_the_same_cells(monkeypatch) -> None:
    monkeypatch.setattr(cells, "TEXT_MEMO", 3)
    short = VARIABLES[4]
    convert = csv_converter(short)  # UTF-8 text, cut in bytes
    values = ["a\nb", "x" * 20, "é" * 9, "plain", "a\nb", "x" * 20, "more\tthan ten chars", "é" * 9]
    expected = ["a b", "x" * 10, "é" * 5, "plain", "a b", "x" * 10, "more than", "é" * 5]
    assert [convert(value) for value in values] == expected
    assert [convert(value) for value in values] == expected  # remembered or not, the same
    with pytest.raises(TypeError, match="XXSHORT"):
        convert(3)


def test_a_layout_orders_the_values_and_refuses_unknown_names() -> None:
    layout = Layout(VARIABLES)
    assert layout.row({"XXVAL": 2.5, "USUBJID": "S-001"}) == ("S-001", None, None, 2.5, None)
    with pytest.raises(KeyError, match="XXTYPO"):
        layout.row({"USUBJID": "S-001", "XXTYPO": 1})
    with pytest.raises(ValueError, match="twice"):
        Layout((*VARIABLES, VARIABLES[0]))


def test_the_stamp_is_utc_and_english_whatever_the_offset() -> None:
    madrid = timezone(timedelta(hours=2))
    assert xpt_stamp(datetime(2026, 4, 2, 14, 0, tzinfo=madrid)) == b"02APR26:12:00:00"
    assert xpt_stamp(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == b"31DEC26:23:59:59"


TRIAL_DESIGN = {"TS", "TA", "TE", "TV", "TI"}


def test_every_dataset_fits_sas_transport_v5() -> None:
    names = []
    for dataset in DATASETS:
        check_xpt_limits(dataset.name, dataset.label, dataset.variables)
        assert len(dataset.name) <= 8 and len(dataset.label) <= 40
        variables = [variable.name for variable in dataset.variables]
        # Subject-level datasets start with their keys; the trial design ones have no subject;
        # SUPP-- and RELREC name the domain they relate to (RDOMAIN).
        relating = dataset.name.startswith("SUPP") or dataset.name == "RELREC"
        domain = "RDOMAIN" if relating else "DOMAIN"
        if dataset.name not in TRIAL_DESIGN:
            assert variables[:3] == ["STUDYID", domain, "USUBJID"], dataset.name
        assert variables[:2] == ["STUDYID", domain], dataset.name
        assert len(set(variables)) == len(variables), dataset.name
        assert set(dataset.keys) <= set(variables), dataset.name
        for variable in dataset.variables:
            assert len(variable.name) <= 8 and variable.name.isupper(), variable.name
            assert len(variable.label) <= 40 and variable.label.isascii(), variable.name
            assert variable.type in ("Char", "Num")
            if variable.type == "Char":
                assert 1 <= variable.length <= 200, variable.name
            if variable.name.endswith("SEQ"):
                assert variable.name == f"{dataset.name}SEQ"
        names.append(dataset.name)
    assert names == [
        "DM", "SE", "DS", "SV", "EC", "EX", "SUPPEX", "AE", "SUPPAE", "CM", "SUPPCM", "MH",
        "LB", "VS", "RS", "SUPPRS", "RP", "IE", "DV", "RELREC", "TS", "TA", "TE", "TV", "TI",
    ]  # fmt: skip


def test_a_dataset_beyond_the_limits_is_refused() -> None:
    with pytest.raises(ValueError, match="variable name 'TOOLONGNAME'"):
        check_xpt_limits("XX", "Fine", (Variable("TOOLONGNAME", "Label"),))
    with pytest.raises(ValueError, match="label of XXTERM"):
        check_xpt_limits("XX", "Fine", (Variable("XXTERM", "L" * 41),))
    with pytest.raises(ValueError, match="dataset name"):
        check_xpt_limits("xx", "Fine", ())


def _peak(write, count: int, folder: Path) -> int:
    tracemalloc.start()
    try:
        write(_ctx(), _dataset(count=count), folder / f"out-{count}", lambda n: None)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("write", [write_csv, write_xpt], ids=["csv", "xpt"])
def test_memory_stays_flat_as_rows_grow(write, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tabular, "XPT_CHUNK_ROWS", 1000)
    small = _peak(write, 2_000, tmp_path)
    large = _peak(write, 40_000, tmp_path)
    # Twenty times the rows: the peak grows by far less than the data (~40 000 rows * 5 cells).
    assert large < small * 1.5 + 1_000_000, (small, large)

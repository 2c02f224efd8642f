"""On PostgreSQL every dataset's statement gives, byte for byte, the CSV file its rows give.

The CSV export streams each dataset's statement with COPY; the XPT and the ODM files, and the
export on SQLite, are built from the rows. These tests hold the two equal: on the trial entered
through the services at two instants, blinded and unblinded; on a synthetic trial with texts,
dates, units and responses the services would not produce; and cell by cell, for the SQL that
stands for each Python conversion.
"""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from accounts.services import system_actor
from assessments.models import (
    ConcomitantMedication,
    Infusion,
    LabResults,
    ProtocolDeviation,
    RenalAssessment,
    SledaiAssessment,
    VitalSigns,
)
from demo.synthetic import generate_synthetic
from exports.base import ExportContext, Variable
from exports.cells import _text_cell, csv_converter
from exports.datasets import exported_datasets, sql
from exports.datasets.common import decimal_text, dtc_day, iso_datetime, study_day
from exports.tabular import write_csv, write_csv_rows
from safety.models import AdverseEvent
from tests.exports.dataset_fixtures import AS_OF, LATEST, Trial
from tests.personas import load
from trials.models import ProtocolVersion
from trials.models import Trial as TrialModel
from visits.models import Visit

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the statements are PostgreSQL's"
)

# Datasets a blinded export writes, and those only an unblinded one does; all carry SQL but EX.
BLINDED = ("DM", "DS", "SV", "EC", "AE", "CM", "LB", "VS", "RS", "IE", "DV")


def both_files(ctx: ExportContext, folder: Path) -> dict[str, tuple[Path, Path, int, int]]:
    """Each dataset with a statement written both ways: (COPY file, rows file, rows, rows)."""
    found = {}
    folder.mkdir(parents=True, exist_ok=True)
    for exported in exported_datasets(ctx):
        if exported.dataset.sql is None:
            continue
        copied, built = folder / f"{exported.name}.sql.csv", folder / f"{exported.name}.csv"
        reported: list[int] = []
        rows_copied = write_csv(ctx, exported, copied, reported.append)
        assert sum(reported) == rows_copied
        rows_built = write_csv_rows(ctx, exported, built, lambda rows: None)
        found[exported.name] = (copied, built, rows_copied, rows_built)
    return found


def assert_same(found: dict[str, tuple[Path, Path, int, int]]) -> None:
    for name, (copied, built, rows_copied, rows_built) in found.items():
        assert rows_copied == rows_built, name
        if not filecmp.cmp(copied, built, shallow=False):
            sql_lines = copied.read_text(encoding="utf-8").splitlines()
            rows_lines = built.read_text(encoding="utf-8").splitlines()
            first = next(
                (
                    i
                    for i, pair in enumerate(zip(sql_lines, rows_lines, strict=False))
                    if pair[0] != pair[1]
                ),
                min(len(sql_lines), len(rows_lines)),
            )
            pytest.fail(
                f"{name} differs at line {first + 1}:\n"
                f"  SQL:  {sql_lines[first] if first < len(sql_lines) else '<end>'}\n"
                f"  rows: {rows_lines[first] if first < len(rows_lines) else '<end>'}"
            )


class TestServicesTrial:
    def test_each_statement_writes_the_file_its_rows_write(
        self,
        sdtm_trial: Trial,
        tmp_path: Path,
    ) -> None:
        # One trial, four exports: before and after the later corrections, blinded or not.
        for as_of, when in ((AS_OF, "as-of"), (LATEST, "latest")):
            for blinded in (True, False):
                ctx = sdtm_trial.ctx(as_of, blinded=blinded)
                found = both_files(ctx, tmp_path / f"{when}-{blinded}")
                assert set(found) == set(BLINDED)
                assert_same(found)
                # Not vacuous: the trial's findings are there.
                for name in ("DM", "DS", "SV", "LB", "VS", "RS", "IE"):
                    assert found[name][2] > 0, (name, when, blinded)


# --- a synthetic trial, then records the services would not write --------------------------

SYNTHETIC_PARTICIPANTS = 24
LONG_NON_ASCII = "Ä" * 120  # 240 bytes: cut at 200 bytes, 100 characters
LONG_EMOJI = "a" * 198 + "\U0001f600"  # the 4-byte character would straddle the cut


@pytest.fixture(scope="module")
def odd_trial(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """A synthetic MSVLE trial, then (an hour later by the history) odd values in each form."""
    with django_db_blocker.unblock(), transaction.atomic():
        load("nct03673748.yaml")
        generate_synthetic(trial_code="MSVLE", participants=SYNTHETIC_PARTICIPANTS, mode="bulk")
        before = datetime.now(UTC)
        _oddities()
        yield {"trial": TrialModel.objects.get(code="MSVLE"), "before": before}
        transaction.set_rollback(True)


def _first(model: Any, **filters: Any) -> Any:
    found = model.objects.filter(**filters).order_by("pk").first()
    assert found is not None, f"the synthetic trial has no {model.__name__} {filters}"
    return found


def _save(instance: Any) -> None:
    """Saved as an import or a correction in the database would save it: without the form
    checks, with its history record."""
    instance._history_user = system_actor()
    instance._change_reason = "Correction outside the forms"
    instance.save()


def _oddities() -> None:
    visit = _first(Visit, status="completed")
    visit.name = "Semana 4 — visita\tcompleta \u3000 "
    _save(visit)
    labs = _first(LabResults, entry_status="entered", haemoglobin_value__isnull=False)
    labs.haemoglobin_unit = "mmol/mol"  # no factor: no standard result
    labs.haemoglobin_lln = None
    labs.wbc_value = Decimal("7.000")
    _save(labs)
    medications = list(ConcomitantMedication.objects.filter(entry_status="entered")[:4])
    assert len(medications) == 4
    values: list[dict[str, Any]] = [
        {"medication": LONG_NON_ASCII, "start_date": "2024-02-30", "end_date": "2024-02-29"},
        {
            "medication": LONG_EMOJI,
            "indication": "line 1\r\nline 2\x0bend\u3000",
            "start_date": "2023-02-29",
            "end_date": "1900-02-29",
        },
        {
            "medication": "  leading kept, trailing not \xa0",
            "start_date": "2024",
            "end_date": "2024-04-31",
            "dose_unit": "",
        },
        {"medication": "Ñandú\n", "start_date": "2000-02-29", "end_date": "2024-13-01"},
    ]
    for medication, changes in zip(medications, values, strict=True):
        for name, value in changes.items():
            setattr(medication, name, value)
        _save(medication)
    event = _first(AdverseEvent, entry_status="entered")
    event.verbatim_term = "Fièvre  \n"
    event.onset_date = "2024-06"
    _save(event)
    renal = _first(RenalAssessment, entry_status="entered")
    renal.response_rule_set = "custom-rule"
    renal.response_category = "complete "
    renal.secondary_responses = {
        "zeta": {"category": "complete", "version": 2, "provisional": "yes"},
        "Alpha": {"category": "partial", "provisional": 0},
        "beta": {"category": ""},
        "b\u00e9ta": {"category": "none", "version": "v1\t", "provisional": [1]},
    }
    renal.egfr_equation, renal.egfr_version = "CKD-EPI", " 2021 "
    renal.upcr_unit = ""
    _save(renal)
    sledai = _first(SledaiAssessment, entry_status="entered")
    sledai.contributions = [
        {"code": "SEIZURE", "weight": "8"},
        {"code": "FEVER", "weight": 1},
        {"code": "FEVER", "weight": 3},
    ]
    sledai.calculator = "  SLEDAI-2K calc "
    _save(sledai)
    vitals = list(VitalSigns.objects.filter(entry_status="entered", measured_at__isnull=False)[:2])
    vitals[0].measured_at = vitals[0].measured_at.replace(second=30, microsecond=500000)
    vitals[1].measured_at = vitals[1].measured_at.replace(second=0, microsecond=500)
    for row in vitals:
        _save(row)
    deviation = _first(ProtocolDeviation)
    deviation.state = "confirmed"
    deviation.description = "Window missed\r\nby two days"
    deviation.occurred_on = None
    _save(deviation)
    infusion = _first(Infusion, entry_status="entered")
    infusion.given = False
    infusion.not_given_reason = "Fever\tbefore the infusion"
    infusion.interrupted = True
    infusion.interruption_details = "x" * 250
    _save(infusion)


def _ctx(odd: dict[str, Any], as_of: datetime, blinded: bool) -> ExportContext:
    trial = odd["trial"]
    version = ProtocolVersion.objects.filter(trial=trial).order_by("-number").first()
    assert version is not None
    return ExportContext(trial=trial, protocol_version=version, as_of=as_of, blinded=blinded)


@pytest.mark.django_db
class TestOddValues:
    @pytest.mark.parametrize("blinded", [True, False], ids=["blinded", "unblinded"])
    def test_each_statement_writes_the_file_its_rows_write(
        self, odd_trial: dict[str, Any], tmp_path: Path, blinded: bool
    ) -> None:
        found = both_files(_ctx(odd_trial, datetime.now(UTC), blinded), tmp_path)
        assert_same(found)
        cm = found["CM"][0].read_text(encoding="utf-8")
        assert "Ä" * 100 + "," in cm and "Ä" * 101 not in cm
        assert "a" * 198 + "," in cm and "\U0001f600" not in cm
        assert "line 1 line 2 end," in cm
        rs = found["RS"][0].read_text(encoding="utf-8")
        assert "CUSTOM-RULE" in rs and "zeta 2" in rs

    def test_before_the_odd_values_the_statements_agree_too(
        self, odd_trial: dict[str, Any], tmp_path: Path
    ) -> None:
        found = both_files(_ctx(odd_trial, odd_trial["before"], True), tmp_path)
        assert_same(found)
        assert "Ä" * 100 not in found["CM"][0].read_text(encoding="utf-8")


# --- cell by cell ---------------------------------------------------------------------------


def _select(expression: str, st: sql.Statement, kind: str, values: list[Any]) -> list[Any]:
    """`expression` of each value (as column `v.x`), in order."""
    array = st.param(values)
    query = (
        f"SELECT {expression} FROM unnest({array}::{kind}[]) WITH ORDINALITY AS v(x, n) "
        "ORDER BY v.n"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in sql.SETTINGS:
            cursor.execute(setting)
        cursor.execute(query, st.params)
        return [row[0] for row in cursor.fetchall()]


def _statement() -> sql.Statement:
    return sql.Statement(cast(ExportContext, None))


TEXTS = [
    "",
    "   ",
    "plain",
    "trailing  ",
    "tab\tand\r\nbreaks\x0b\x0c",
    "\n\nleading breaks",
    "nbsp\xa0",
    "ideographic\u3000",
    "é" * 150,
    "a" * 199 + "é",
    "a" * 200,
    "a" * 201,
    "a" * 199 + " b",
    "a" * 197 + "\U0001f600",
    "a" * 198 + "\U0001f600",
    "a" * 196 + "€€",
    "x\u2028y\u2028",
    "\x1cseparators\x1f",
]


@pytest.mark.django_db
class TestCells:
    @pytest.mark.parametrize("length", [200, 8, 40])
    def test_text_is_stored_as_python_stores_it(self, length: int) -> None:
        st = _statement()
        stored = _text_cell(Variable("X", "", length=length))
        got = _select(st.text("v.x", length), st, "text", TEXTS)
        assert got == [stored(value) or None for value in TEXTS]

    def test_partial_dates_give_a_day_only_when_complete_and_real(self) -> None:
        texts = [
            "",
            "2024",
            "2024-02",
            "2024-02-29",
            "2023-02-29",
            "1900-02-29",
            "2000-02-29",
            "2024-13-01",
            "2024-04-31",
            "2024-06-30",
            "0000-01-01",
            "2024-00-10",
            "2024-1-01",
            "2024-12-31T10:00",
            "2024/01/01",
        ]
        got = _select(sql.partial_day("v.x"), _statement(), "text", texts)
        assert got == [dtc_day(text) for text in texts]

    def test_numbers_and_decimals_are_written_as_python_writes_them(self) -> None:
        values = [
            Decimal("0"),
            Decimal("0.000"),
            Decimal("-0.500"),
            Decimal("12.5000"),
            Decimal("0.00001"),
            Decimal("0.0001"),
            Decimal("123456789.123"),
            Decimal("100"),
            Decimal("1.611") * Decimal("12.345"),
            Decimal("99999999.99"),
            Decimal("1E-7"),
        ]
        number = csv_converter(Variable("N", "", "Num"))
        st = _statement()
        assert _select(sql.number("v.x"), st, "numeric", values) == [
            number(value) for value in values
        ]
        assert _select(sql.decimal("v.x"), st, "numeric", values) == [
            decimal_text(value) for value in values
        ]

    @pytest.mark.parametrize("zone", ["Europe/Madrid", "America/Sao_Paulo", "Asia/Kolkata"])
    def test_local_date_times_are_written_as_python_writes_them(self, zone: str) -> None:
        moments = [
            datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
            datetime(2026, 3, 29, 1, 0, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 30, 0, 999999, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 30, 0, 1, tzinfo=UTC),
            datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
            datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo(zone)),
        ]
        st = _statement()
        got = _select(sql.local_dtc("v.x", st.param(zone)), st, "timestamptz", moments)
        assert got == [iso_datetime(moment, zone) for moment in moments]

    def test_study_days_have_no_day_zero(self) -> None:
        day0 = date(2026, 3, 4)
        days = [day0 - timedelta(days=2), day0 - timedelta(days=1), day0, day0 + timedelta(1)]
        st = _statement()
        got = _select(sql.study_day("v.x", st.param(day0) + "::date"), st, "date", days)
        assert got == [study_day(day, day0) for day in days] == [-2, -1, 1, 2]

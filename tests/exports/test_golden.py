"""Each export format gives the same files on PostgreSQL and SQLite: the files kept in
`tests/exports/golden/`, byte for byte.

Two trials built at fixed instants: the small trial entered through the services
(`dataset_fixtures`), and a synthetic trial with values the forms would refuse (`odd_trial`).
The suite runs on SQLite by default and on PostgreSQL in CI, and both runs compare against the
same files. After a deliberate change to what an export writes, rewrite them with
`ECRF_GOLDEN=write pytest tests/exports/test_golden.py` (every test of that run fails, as it
compared nothing), read the difference, and run the tests again without the variable.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from exports.base import ExportContext
from exports.odm import write_odm
from exports.tabular import write_tabular
from tests.exports.dataset_fixtures import AS_OF, LATEST, Trial, build_trial
from tests.exports.odd_trial import AFTER, BEFORE, build_odd_trial, odd_ctx
from tests.factories import SiteFactory, TrialFactory, UserFactory
from trials.models import Trial as TrialModel

GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("ECRF_GOLDEN") == "write"


def _export(ctx: ExportContext, fmt: str, folder: Path) -> None:
    if fmt == "odm":
        write_odm(ctx, folder, lambda rows: None)
    else:
        write_tabular(ctx, fmt, folder, lambda rows: None)  # type: ignore[arg-type]


# ODM names each user, each repeated form and each history row it cites as a source by its
# primary key, and primary keys differ between databases.
KEYED = re.compile(
    rb'((?:UserOID|OID)="U\.|FormOID="[A-Z0-9_.]+" FormRepeatKey="|<SourceID>[a-z_.]+:)(\d+)'
)


def _comparable(path: Path) -> bytes:
    """The file's bytes; in ODM, those keys numbered in order of first appearance instead."""
    data = path.read_bytes()
    if path.suffix != ".xml":
        return data
    numbers: dict[tuple[bytes, bytes], int] = {}

    def renumbered(match: re.Match[bytes]) -> bytes:
        kind = b"U" if b"U." in match[1] else match[1]  # a user is one, whichever attribute
        number = numbers.setdefault((kind, match[2]), 1 + sum(k == kind for k, _ in numbers))
        return match[1] + str(number).encode()

    return KEYED.sub(renumbered, data)


def _first_difference(found: bytes, kept: bytes) -> str:
    found_lines, kept_lines = found.splitlines(), kept.splitlines()
    for number, (a, b) in enumerate(zip(found_lines, kept_lines, strict=False), start=1):
        if a != b:
            return f"line {number}:\n  written: {a[:300]!r}\n  kept:    {b[:300]!r}"
    return f"lengths differ: {len(found_lines)} lines written, {len(kept_lines)} kept"


def assert_golden(case: str, ctx: ExportContext, fmt: str, tmp_path: Path) -> None:
    folder = tmp_path / case
    _export(ctx, fmt, folder)
    kept = GOLDEN / case
    if WRITE:
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        for path in folder.iterdir():
            (kept / path.name).write_bytes(_comparable(path))
        # A rewriting run checks nothing, so it never passes: rerun without ECRF_GOLDEN.
        pytest.fail(f"golden files of {case} rewritten; read the difference, then rerun")
    written = sorted(path.name for path in folder.iterdir())
    assert written == sorted(path.name for path in kept.iterdir()), case
    for name in written:
        found, expected = _comparable(folder / name), (kept / name).read_bytes()
        if found != expected:
            pytest.fail(
                f"{case}/{name} differs from its golden file at "
                + _first_difference(found, expected)
            )


@pytest.fixture
def services_trial(db: None) -> Trial:
    # The ODM file names the users; their names are numbered by the factories' sequences.
    for made in (UserFactory, TrialFactory, SiteFactory):
        made.reset_sequence()
    return build_trial()


class TestServicesTrial:
    @pytest.mark.parametrize("fmt", ["csv", "xpt", "odm"])
    def test_the_latest_blinded_export_is_the_kept_one(
        self,
        services_trial: Trial,
        tmp_path: Path,
        fmt: str,
    ) -> None:
        assert_golden(f"services-latest-blinded-{fmt}", services_trial.ctx(LATEST), fmt, tmp_path)

    @pytest.mark.parametrize("fmt", ["csv", "xpt", "odm"])
    def test_the_as_of_unblinded_export_is_the_kept_one(
        self,
        services_trial: Trial,
        tmp_path: Path,
        fmt: str,
    ) -> None:
        ctx = services_trial.ctx(AS_OF, blinded=False)
        assert_golden(f"services-asof-unblinded-{fmt}", ctx, fmt, tmp_path)


@pytest.fixture(scope="module")
def odd_trial(django_db_setup: None, django_db_blocker: Any) -> Iterator[TrialModel]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_odd_trial()
        transaction.set_rollback(True)


@pytest.mark.django_db
class TestOddValues:
    @pytest.mark.parametrize(
        ("case", "as_of", "blinded", "fmt"),
        [
            ("odd-after-blinded-csv", AFTER, True, "csv"),
            ("odd-after-unblinded-csv", AFTER, False, "csv"),
            ("odd-after-unblinded-xpt", AFTER, False, "xpt"),
            ("odd-before-blinded-csv", BEFORE, True, "csv"),
        ],
    )
    def test_the_export_is_the_kept_one(
        self,
        odd_trial: TrialModel,
        tmp_path: Path,
        case: str,
        as_of: datetime,
        blinded: bool,
        fmt: str,
    ) -> None:
        assert_golden(case, odd_ctx(odd_trial, as_of, blinded=blinded), fmt, tmp_path)

    def test_the_kept_files_hold_the_odd_values_cut_and_cleaned(self) -> None:
        # Not vacuous: the odd values are in the kept files, cleaned and cut as specified.
        cm = (GOLDEN / "odd-after-blinded-csv" / "CM.csv").read_text(encoding="utf-8")
        assert "Ä" * 100 + "," in cm and "Ä" * 101 not in cm
        assert "a" * 198 + "," in cm and "\U0001f600" not in cm
        assert "line 1 line 2 end," in cm
        rs = (GOLDEN / "odd-after-blinded-csv" / "RS.csv").read_text(encoding="utf-8")
        assert "CUSTOM-RULE" in rs and "ZETA RENAL RESPONSE, VERSION 2" in rs
        before = (GOLDEN / "odd-before-blinded-csv" / "CM.csv").read_text(encoding="utf-8")
        assert "Ä" * 100 not in before

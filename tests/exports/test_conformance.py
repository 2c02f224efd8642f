"""The conformance checker finds nothing wrong in the exports of a synthetic trial of each
protocol, and finds what is broken once an export is tampered with; the define.xml of those
exports carries value-level metadata and points at the annotated CRF beside it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from accounts.services import system_actor
from demo.synthetic import generate_synthetic
from exports.annotated import ACRF_NAME
from exports.base import ExportContext
from exports.conformance import RULES, check_export
from exports.define import DEFINE_NAME, STYLESHEET
from exports.formats import write_export
from safety.models import AdverseEvent
from tests.personas import load
from tests.sharing import each_test, module_fixture
from trials.models import ProtocolVersion, Trial

PROTOCOLS = {"MSVLE": "nct03673748.yaml", "MSCROLE": "nct03917797.yaml"}
PARTICIPANTS = 12
GENERATED = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
AS_OF = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}


def _build() -> dict[str, int]:
    with time_machine.travel(GENERATED, tick=False):
        for code, name in PROTOCOLS.items():
            load(name)
            generate_synthetic(trial_code=code, participants=PARTICIPANTS, mode="bulk")
        _code_adverse_events()
    return {code: Trial.objects.get(code=code).pk for code in PROTOCOLS}


def _code_adverse_events() -> None:
    """Code every adverse event to one fabricated MedDRA term, with its history, as the
    coders would have before the export (MedDRA is licensed: no release ships with the tests)."""
    for event in AdverseEvent.objects.filter(pt_name=""):
        event.llt_name = event.pt_name = "Fabricated term"
        event.llt_code = event.pt_code = "10000001"
        event.soc_name, event.soc_code = "Fabricated disorders", "10000002"
        event._history_user = system_actor()  # type: ignore[attr-defined]
        event._change_reason = "Coded"  # type: ignore[attr-defined]
        event.save()


module_trials = module_fixture("module_trials", _build)


@pytest.fixture
def trials(module_trials: dict[str, int] | None, db: None) -> dict[str, int]:
    return each_test(module_trials, _build)


def _export(trial_id: int, fmt: str, folder: Path, *, blinded: bool) -> Path:
    trial = Trial.objects.get(pk=trial_id)
    version = ProtocolVersion.objects.filter(trial=trial).order_by("-number").first()
    assert version is not None
    ctx = ExportContext(trial=trial, protocol_version=version, as_of=AS_OF, blinded=blinded)
    write_export(ctx, fmt, folder, lambda rows: None)  # type: ignore[arg-type]
    return folder


@pytest.mark.parametrize(
    ("code", "fmt", "blinded"),
    [("MSVLE", "xpt", True), ("MSVLE", "csv", False), ("MSCROLE", "xpt", False),
     ("MSCROLE", "csv", True)],
)  # fmt: skip
def test_a_synthetic_trial_of_each_protocol_conforms(
    trials: dict[str, int], tmp_path: Path, code: str, fmt: str, blinded: bool
) -> None:
    folder = _export(trials[code], fmt, tmp_path, blinded=blinded)
    report = check_export(folder)
    assert report.datasets >= 15 and report.records > 500
    assert report.errors == 0, "\n".join(map(str, report.findings[:40]))

    root = etree.parse(str(folder / DEFINE_NAME)).getroot()
    # Value-level metadata per test code, and per category where a code has two (WBC).
    lb = root.find(".//def:ValueListDef[@OID='VL.LB.LBORRES']", NS)
    assert lb is not None
    wheres = {
        where.get("OID"): [check.findtext("odm:CheckValue", namespaces=NS) for check in where]
        for where in root.iterfind(".//def:WhereClauseDef", NS)
    }
    refs = [ref.find("def:WhereClauseRef", NS).get("WhereClauseOID") for ref in lb]
    assert ["HGB"] in [wheres[oid] for oid in refs]
    assert sorted(wheres[oid][1] for oid in refs if wheres[oid][0] == "WBC") == [
        "HEMATOLOGY",
        "URINALYSIS",
    ]
    hgb = root.find(".//odm:ItemDef[@OID='IT.LB.LBORRES.HGB']", NS)
    assert hgb.get("DataType") == "float"
    origin = hgb.find("def:Origin", NS)
    assert origin.get("Type") == "Collected"
    page_refs = origin.find("def:DocumentRef/def:PDFPageRef", NS).get("PageRefs").split()
    # The annotated CRF beside define.xml holds each form the origins name.
    acrf = root.find(".//def:leaf[@ID='LF.ACRF']", NS)
    assert acrf.get(f"{{{NS['xlink']}}}href") == ACRF_NAME
    html = (folder / ACRF_NAME).read_text(encoding="utf-8")
    assert all(f'id="{anchor}"' in html for anchor in page_refs) and "LB.LBORRES" in html
    # The stylesheet beside it shows it as a page linking the annotated CRF's forms.
    page = str(etree.XSLT(etree.parse(str(folder / STYLESHEET)))(root.getroottree()))
    assert f'href="{ACRF_NAME}#{page_refs[0]}"' in page and "VL.LB.LBORRES" in page
    egfr = root.find(".//odm:ItemDef[@OID='IT.LB.LBORRES.EGFR']", NS)
    if egfr is not None:
        assert egfr.find("def:Origin", NS).get("Type") == "Derived"
    if blinded:
        assert "EX.EXTRT" not in html


def _rewrite(path: Path, change: Any) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        names = list(rows[0])
    change(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_the_checker_finds_what_was_broken(trials: dict[str, int], tmp_path: Path) -> None:
    folder = _export(trials["MSVLE"], "csv", tmp_path, blinded=False)
    assert check_export(folder).errors == 0

    def break_lb(rows: list[dict[str, str]]) -> None:
        dated = next(row for row in rows if row["LBDY"] not in ("", "1", "-1"))
        dated["LBDY"] = "0"
        rows[1]["LBSEQ"] = rows[0]["LBSEQ"]
        rows[1]["USUBJID"] = rows[0]["USUBJID"]
        rows[2]["LBDTC"] = "01/04/2026"
        hgb = next(row for row in rows if row["LBTESTCD"] == "HGB")
        hgb["LBORRES"] = "high"

    def break_dm(rows: list[dict[str, str]]) -> None:
        rows[0]["SEX"] = "X"
        rows[1]["SITEID"] = ""

    def break_vs(rows: list[dict[str, str]]) -> None:
        rows[0]["USUBJID"] = "MSVLE-NOBODY"
        rows[1]["VISITNUM"] = "999"
        rows[2]["EPOCH"] = "FOLLOW-UP"

    _rewrite(folder / "LB.csv", break_lb)
    _rewrite(folder / "DM.csv", break_dm)
    _rewrite(folder / "VS.csv", break_vs)
    _rewrite(folder / "RELREC.csv", lambda rows: rows[0].update(IDVAR="LBNOLINK"))
    report = check_export(folder)
    assert {
        "DY-NONZERO", "DY-RFSTDTC", "SEQ-UNIQUE", "ISO8601", "VALUE-LEVEL", "CODELIST",
        "REQUIRED", "USUBJID-DM", "VISITNUM-SV", "EPOCH-TA", "RELATED-RECORD",
    } <= report.rules_broken() <= set(RULES)  # fmt: skip
    found = {(f.rule, f.dataset, f.variable) for f in report.findings}
    assert ("CODELIST", "DM", "SEX") in found and ("REQUIRED", "DM", "SITEID") in found
    assert ("VALUE-LEVEL", "LB", "LBORRES") in found
    assert ("RELATED-RECORD", "RELREC", "IDVAR") in found
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"errors \(.*VISITNUM-SV 2"):
        call_command("check_conformance", str(folder), stdout=out)
    assert "CODELIST DM.SEX row 1: 'X' is not in its code list." in out.getvalue()

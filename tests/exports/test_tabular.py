"""CSV and XPT files round-trip to the database, the same as-of gives the same bytes, and
their define.xml declares them."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import odmlib
import pyreadstat
import pytest
from lxml import etree

from assessments.models import (
    ConcomitantMedication,
    Infusion,
    LabResults,
    MedicalHistory,
    PregnancyTest,
    ProtocolDeviation,
    RenalAssessment,
    SledaiAssessment,
    VitalSigns,
)
from assessments.models.labs import ANALYTES, unit_field, value_field
from exports import tabular
from exports.cells import ascii_text
from exports.datasets import exported_datasets
from exports.define import CT_VERSION, DEFINE_NAME, STYLESHEET
from exports.formats import write_export
from exports.tabular import normalized, tabular_total
from safety.models import AdverseEvent
from tests.exports.dataset_fixtures import (
    AS_OF,
    LATEST,
    at,
    read_csv,
    read_xpt,
    save,
    write,
)
from trials.models import Consent, EligibilityAnswer, Participant
from visits.models import Visit


def _same(csv_value: str, xpt_value: object, kind: str) -> bool:
    if kind == "Num":
        assert isinstance(xpt_value, float)
        return (csv_value == "" and math.isnan(xpt_value)) or float(csv_value) == xpt_value
    # SAS transport holds the text in ASCII; the CSV keeps it in UTF-8.
    return ascii_text(csv_value) == xpt_value


def _expected_counts(trial) -> dict[str, int]:
    """Row counts read straight from the live tables (the latest state)."""
    participants = Participant.objects.filter(trial=trial)
    of_trial = {"participant__trial": trial}
    labs = sum(
        getattr(row, value_field(a.code)) is not None
        for row in LabResults.objects.filter(**of_trial)
        for a in ANALYTES
    )
    renal_fields = ("upcr_value", "serum_creatinine_value", "urine_rbc_hpf", "urine_wbc_hpf",
                    "rbc_casts", "cellular_casts", "egfr")  # fmt: skip
    renal = RenalAssessment.objects.filter(**of_trial)
    vitals = ("systolic", "diastolic", "heart_rate", "temperature_c", "respiratory_rate",
              "weight_kg")  # fmt: skip
    failed = EligibilityAnswer.objects.filter(participant__trial=trial)
    pregnancy = PregnancyTest.objects.filter(**of_trial)
    # Forms not done: the panel one LBALL row, the pregnancy form an HCG row.
    not_done = LabResults.objects.filter(**of_trial, entry_status="not_done").count()
    not_done += pregnancy.filter(entry_status="not_done").count()
    return {
        "DM": participants.count(),
        "DS": Consent.objects.filter(**of_trial).count()
        + participants.exclude(randomized_at=None).count()
        + participants.filter(
            status__in=["screen_failed", "completed", "withdrawn", "lost_to_follow_up"]
        ).count(),
        "SV": Visit.objects.filter(**of_trial, status="completed").count(),
        "EC": Infusion.objects.filter(**of_trial).count(),
        "EX": Infusion.objects.filter(**of_trial, given=True).count(),
        "AE": AdverseEvent.objects.filter(**of_trial).count(),
        "CM": ConcomitantMedication.objects.filter(**of_trial).count(),
        "MH": 2 * MedicalHistory.objects.filter(**of_trial).count(),
        "LB": labs
        + sum(getattr(r, f) is not None for r in renal for f in renal_fields)
        + pregnancy.exclude(result="").count()
        + not_done,
        "VS": sum(
            getattr(row, name) is not None
            for row in VitalSigns.objects.filter(**of_trial)
            for name in vitals
        ),
        "RS": 26 * SledaiAssessment.objects.filter(**of_trial).count()
        + renal.exclude(response_category="").count(),
        "RP": pregnancy.count(),
        "IE": failed.filter(kind="inclusion", answer=False).count()
        + failed.filter(kind="exclusion", answer=True).count(),
        "DV": ProtocolDeviation.objects.filter(**of_trial, state="confirmed").count(),
        # Screening for everyone, then treatment for those given the infusion.
        "SE": participants.count()
        + Infusion.objects.filter(**of_trial, given=True).values("participant").distinct().count(),
        # The sponsor's variables, one record per value (see test_datasets_supplemental.py).
        "SUPPEX": sum(
            (row.cell_count_1e6 is not None and bool(row.weight_kg))
            + 1  # the planned dose per kg of the arm
            + (row.viability_pct is not None)
            + bool(row.kit_number)
            for row in Infusion.objects.filter(**of_trial, given=True)
        ),
        "SUPPAE": sum(
            1
            + bool(row.dictionary_version)
            + bool(row.sponsor_causality)
            + bool(row.expectedness)
            + bool(row.aesi_category)
            for row in AdverseEvent.objects.filter(**of_trial)
        ),
        "SUPPCM": sum(
            1 + bool(row.dictionary_version) + (row.prednisone_equivalent_mg_day is not None)
            for row in ConcomitantMedication.objects.filter(**of_trial)
        ),
        "SUPPRS": renal.exclude(response_category="").filter(response_provisional=True).count(),
        "RELREC": 2,  # LB and RS, related by the --LNKID of a renal assessment
        # From the protocol: two arms (an element each), the visits and the criteria.
        "TS": 23,
        "TA": 4,
        "TE": 3,
        "TV": 11,
        "TI": 32,
    }


def test_files_round_trip_to_the_database(sdtm_trial, tmp_path) -> None:
    ctx = sdtm_trial.ctx(LATEST, blinded=False)
    counts = _expected_counts(sdtm_trial.team.trial)
    # Every dataset has rows to compare, but SUPPRS: no renal response here is provisional
    # (the odd trial of the golden files has some).
    assert all(count for name, count in counts.items() if name != "SUPPRS"), counts
    write(ctx, "csv", tmp_path / "csv")
    xpt_files, _ = write(ctx, "xpt", tmp_path / "xpt")
    tables = {}
    for exported in exported_datasets(ctx):
        name = exported.name
        rows = read_csv(tmp_path / "csv" / f"{name}.csv")
        frame, meta = read_xpt(tmp_path / "xpt" / f"{name.lower()}.xpt")
        variables = exported.variables
        assert len(rows) == len(frame) == counts[name], name
        assert meta.table_name == name and meta.file_label == exported.label
        assert list(frame.columns) == [v.name for v in variables]
        assert meta.column_labels == [v.label for v in variables]
        records = frame.to_dict("records")
        for csv_row, xpt_row in zip(rows, records, strict=True):
            for variable in variables:
                assert _same(csv_row[variable.name], xpt_row[variable.name], variable.type), (
                    name,
                    variable.name,
                    csv_row[variable.name],
                    xpt_row[variable.name],
                )
        # What the files hold is what the dataset gives, once normalized for the formats.
        expected = list(normalized(variables, exported.rows(ctx)))
        for written, xpt_row in zip(expected, records, strict=True):
            for variable, value in zip(variables, written, strict=True):
                got = xpt_row[variable.name]
                assert (isinstance(value, float) and math.isnan(value) and math.isnan(got)) or (
                    got == value
                ), (name, variable.name)
        codebook = read_csv(tmp_path / "csv" / f"{name}_codebook.csv")
        assert [row["variable"] for row in codebook] == [v.name for v in variables]
        assert [row["label"] for row in codebook] == [v.label for v in variables]
        tables[name] = records
    rows_in = {item.dataset: item.rows for item in xpt_files if item.path.suffix == ".xpt"}
    assert rows_in == counts
    _values_match_the_database(sdtm_trial, tables)


def _values_match_the_database(built, tables: dict[str, list[dict]]) -> None:
    trial = built.team.trial
    ids = {p.pk: f"{trial.code}-{p.identifier}" for p in Participant.objects.filter(trial=trial)}
    assert {row["SUBJID"] for row in tables["DM"]} == {
        p.identifier for p in Participant.objects.filter(trial=trial)
    }
    assert Counter((r["USUBJID"], r["AETERM"], r["AESTDTC"]) for r in tables["AE"]) == Counter(
        (ids[ae.participant_id], ae.verbatim_term, ae.onset_date)
        for ae in AdverseEvent.objects.filter(participant__trial=trial)
    )
    assert Counter((r["USUBJID"], r["CMTRT"], r["CMDOSE"]) for r in tables["CM"]) == Counter(
        (ids[cm.participant_id], cm.medication, float(cm.dose))
        for cm in ConcomitantMedication.objects.filter(participant__trial=trial)
    )
    given = Infusion.objects.filter(participant__trial=trial, given=True)
    assert {(r["USUBJID"], r["EXDOSE"], r["EXVAMT"]) for r in tables["EX"]} == {
        (ids[i.participant_id], float(i.cell_count_1e6), float(i.volume_ml)) for i in given
    }
    lab = {(r["USUBJID"], r["VISITNUM"], r["LBTESTCD"], r["LBSPEC"]): r for r in tables["LB"]}
    from exports.datasets.findings import LAB_TESTS

    for form in LabResults.objects.filter(participant__trial=trial).select_related("visit"):
        for analyte in ANALYTES:
            value = getattr(form, value_field(analyte.code))
            if value is None:
                continue
            test = LAB_TESTS[analyte.code]
            key = (ids[form.participant_id], float(form.visit.visit_number), test.code)
            row = lab[(*key, test.specimen)]
            factor = analyte.units[getattr(form, unit_field(analyte.code))]
            assert Decimal(row["LBORRES"]) == value
            assert row["LBSTRESN"] == float(value * factor)
    for form in RenalAssessment.objects.filter(participant__trial=trial).select_related("visit"):
        key = (ids[form.participant_id], float(form.visit.visit_number))
        assert lab[(*key, "EGFR", "SERUM")]["LBSTRESN"] == float(form.egfr)
        assert lab[(*key, "PROTCRT", "URINE")]["LBSTRESN"] == float(form.upcr_g_g)
    from exports.datasets.vitals import TIMEPOINTS, VITALS

    vitals = {
        (r["USUBJID"], r["VISITNUM"], r["VSTPT"], r["VSTESTCD"]): r["VSSTRESN"]
        for r in tables["VS"]
    }
    expected = {}
    for form in VitalSigns.objects.filter(participant__trial=trial).select_related("visit"):
        for field, test, _ in VITALS:
            value = getattr(form, field)
            if value is not None:
                key = (ids[form.participant_id], float(form.visit.visit_number))
                expected[(*key, TIMEPOINTS[form.timepoint][0], test.code)] = float(value)
    assert vitals == expected
    totals = {
        (r["USUBJID"], r["RSDTC"]): r["RSSTRESN"]
        for r in tables["RS"]
        if r["RSTESTCD"] == "SLDAITOT"
    }
    assert totals == {
        (ids[s.participant_id], s.assessment_date.isoformat()): float(s.total)
        for s in SledaiAssessment.objects.filter(participant__trial=trial)
    }


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }


def test_the_same_as_of_gives_the_same_bytes_even_after_later_edits(sdtm_trial, tmp_path) -> None:
    from safety.models import AdverseEvent

    first = {}
    for blinded in (True, False):
        for fmt in ("csv", "xpt"):
            folder = tmp_path / f"first-{fmt}-{blinded}"
            write(sdtm_trial.ctx(AS_OF, blinded=blinded), fmt, folder)
            first[(fmt, blinded)] = _digests(folder)
    # Edits after the instant, written later still.
    later = LATEST + timedelta(days=1)
    headache = AdverseEvent.objects.get(participant=sdtm_trial.p2)
    save(sdtm_trial.team, "adverse_events", sdtm_trial.p2, {"verbatim_term": "Migraine"},
         record_id=headache.pk, expected_version=headache.row_version, reason="Recoded",
         now=later)  # fmt: skip
    for blinded in (True, False):
        for fmt in ("csv", "xpt"):
            folder = tmp_path / f"again-{fmt}-{blinded}"
            with at(later + timedelta(hours=3)):  # another day, another clock
                write(sdtm_trial.ctx(AS_OF, blinded=blinded), fmt, folder)
            assert _digests(folder) == first[(fmt, blinded)], (fmt, blinded)
    # Around the edit, only AE differs: one minute before it, one minute after.
    for name, instant in (
        ("before", later - timedelta(minutes=1)),
        ("after", later + timedelta(minutes=1)),
    ):
        write(sdtm_trial.ctx(instant), "csv", tmp_path / name)
    before, after = _digests(tmp_path / "before"), _digests(tmp_path / "after")
    assert {name for name in after if after[name] != before[name]} == {"AE.csv"}
    assert "Migraine" in (tmp_path / "after" / "AE.csv").read_text()
    assert "Migraine" not in (tmp_path / "again-csv-True" / "AE.csv").read_text()


def test_the_xpt_header_is_dated_at_the_as_of_instant(sdtm_trial, tmp_path) -> None:
    ctx = sdtm_trial.ctx(AS_OF)
    write(ctx, "xpt", tmp_path)
    for path in sorted(tmp_path.glob("*.xpt")):
        data = path.read_bytes()
        for offset in tabular.XPT_STAMPS:
            assert data[offset : offset + 16] == b"02APR26:12:00:00", path.name
        assert len(data) % 80 == 0
        _, meta = read_xpt(path)
        assert meta.creation_time == datetime(2026, 4, 2, 12, 0)
        assert meta.modification_time == datetime(2026, 4, 2, 12, 0)


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_progress_is_reported_as_rows_are_written(sdtm_trial, tmp_path, monkeypatch, fmt) -> None:
    monkeypatch.setattr(tabular, "PROGRESS_EVERY", 5)
    ctx = sdtm_trial.ctx(LATEST, blinded=False)
    written, reports = write(ctx, fmt, tmp_path)
    total = tabular_total(ctx)
    assert sum(reports) == total == sum(item.rows for item in written)
    assert max(reports) == 5 and min(reports) >= 1
    assert len(reports) >= total // 5


# Define-XML 2.1 beside the CSV and XPT exports: schema-valid, and true to the files written.
DEFINE_XSD = Path(odmlib.__file__).resolve().parent / "schemas/define/2.1/define2-1-0.xsd"
DEFINE_NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}
XPT_TYPES = {"string": "Char", "double": "Num"}


def _declared_in_files(folder: Path, fmt: str, href: str) -> dict[str, tuple[str, int]]:
    """Each variable of a dataset file with the type and length the file carries."""
    path = folder / href
    if fmt == "csv":
        rows = read_csv(path)
        with path.open(encoding="utf-8") as handle:
            names = handle.readline().strip().split(",")
        return {name: ("", max([1, *(len(row[name].encode()) for row in rows)])) for name in names}
    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    return {
        name: (XPT_TYPES[meta.readstat_variable_types[name]], width)
        for name, width in meta.variable_storage_width.items()
    }


@pytest.mark.parametrize(("fmt", "blinded"), [("xpt", True), ("csv", False)])
def test_define_xml_is_schema_valid_and_declares_every_written_variable(
    sdtm_trial: Any, tmp_path: Path, fmt: str, blinded: bool
) -> None:
    folder = tmp_path / fmt
    written = write_export(sdtm_trial.ctx(LATEST, blinded=blinded), fmt, folder, lambda n: None)  # type: ignore[arg-type]
    assert written[-1].path == folder / DEFINE_NAME
    tree = etree.parse(str(folder / DEFINE_NAME))
    xsd = etree.XMLSchema(etree.parse(str(DEFINE_XSD)))
    assert xsd.validate(tree), xsd.error_log
    assert f'href="{STYLESHEET}"' in str(tree.getroot().getprevious())
    root = tree.getroot()
    standard = root.find(".//def:Standard[@Type='CT']", DEFINE_NS)
    assert standard.get("Version") == CT_VERSION

    items = {el.get("OID"): el for el in root.iterfind(".//odm:ItemDef", DEFINE_NS)}
    codelists = {el.get("OID") for el in root.iterfind(".//odm:CodeList", DEFINE_NS)}
    methods = {el.get("OID") for el in root.iterfind(".//odm:MethodDef", DEFINE_NS)}
    data_files = {Path(f.path).name for f in written if f.dataset != "DEFINE"}
    groups = root.findall(".//odm:ItemGroupDef", DEFINE_NS)
    names = [group.get("Name") for group in groups]
    assert ("EX" in names) is not blinded and "DM" in names and "TS" in names
    for group in groups:
        leaf = group.find("def:leaf", DEFINE_NS)
        href = leaf.get(f"{{{DEFINE_NS['xlink']}}}href")
        assert href in data_files
        assert group.get(f"{{{DEFINE_NS['def']}}}ArchiveLocationID") == leaf.get("ID")
        in_file = _declared_in_files(folder, fmt, href)
        refs = group.findall("odm:ItemRef", DEFINE_NS)
        # Every variable of the file is declared, in the file's order, and nothing else.
        declared = [items[ref.get("ItemOID")] for ref in refs]
        assert [item.get("Name") for item in declared] == list(in_file), href
        for ref, item in zip(refs, declared, strict=True):
            kind, length = in_file[item.get("Name")]
            allowed = {"Char": ("text",), "Num": ("integer", "float")}
            assert item.get("DataType") in allowed.get(kind, ("text", "integer", "float"))
            if item.get("DataType") == "text":
                assert int(item.get("Length")) == length, (href, item.get("Name"))
            origin = item.find("def:Origin", DEFINE_NS).get("Type")
            if item.get("Name") in ("STUDYID", "DOMAIN"):
                assert origin == "Assigned"
            if ref.get("MethodOID"):
                assert origin == "Derived" and ref.get("MethodOID") in methods
            for codelist in item.iterfind("odm:CodeListRef", DEFINE_NS):
                assert codelist.get("CodeListOID") in codelists
    sex = root.find(".//odm:CodeList[@OID='CL.DM.SEX']", DEFINE_NS)
    assert [el.findtext(".//odm:TranslatedText", namespaces=DEFINE_NS) for el in sex] == [
        "Female",
        "Male",
    ]
    if blinded:
        # No declaration tells what the blinded files hide: the arms have no code list.
        assert root.find(".//odm:ItemDef[@OID='IT.DM.ARMCD']/odm:CodeListRef", DEFINE_NS) is None
        assert b"EXTRT" not in (folder / DEFINE_NAME).read_bytes()
    # The schema does bite: a dataset without its structure is refused.
    del groups[0].attrib[f"{{{DEFINE_NS['def']}}}Structure"]
    assert not xsd.validate(tree)

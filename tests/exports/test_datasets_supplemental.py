"""SUPP-- datasets: the sponsor variables leave their domains for one record per value, linked
to the parent record by its sequence number, and blinding holds for them as for the domain.
AE carries the MedDRA path of its coding and, where the protocol maps it, AESEV."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

from exports.base import Dataset, ExportContext, Supplemental
from exports.datasets import DATASETS, exported_datasets, revealing_sources
from exports.datasets.common import Layout, char, keys
from exports.datasets.supplemental import qualifiers_as_exported, supplemental
from exports.tabular import check_xpt_limits
from tests.exports.dataset_fixtures import LATEST, at, rows_of

SPONSOR = {
    "AE": {"AEDICT", "AESPREL", "AEEXPECT", "AESI", "AESICAT"},
    "CM": {"CMDICT", "CMPREDEQ", "CMRESCUE"},
    "RS": {"RSPROVFL"},
    "EX": {"EXDOSKG", "EXPDOSKG", "EXVIAB", "EXKITNO"},
}


def test_sponsor_variables_are_qualifiers_of_their_domain_not_its_columns(sdtm_trial) -> None:
    by_name = {dataset.name: dataset for dataset in DATASETS}
    for ctx in (sdtm_trial.ctx(LATEST), sdtm_trial.ctx(LATEST, blinded=False)):
        written = {exported.name: exported for exported in exported_datasets(ctx)}
        for parent, qnams in SPONSOR.items():
            if parent not in written:  # EX and SUPPEX are unblinded only
                assert ctx.blinded and f"SUPP{parent}" not in written
                continue
            assert not qnams & {variable.name for variable in written[parent].variables}
            supp = written[f"SUPP{parent}"]
            (qnam,) = [variable for variable in supp.variables if variable.name == "QNAM"]
            assert set(qnam.codelist) == qnams
            check_xpt_limits(supp.name, supp.label, supp.variables)
            assert by_name[f"SUPP{parent}"].parent is by_name[parent]


def test_suppae_and_suppcm_point_at_their_parent_records(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx(LATEST)
    p1, p2 = sdtm_trial.usubjid(sdtm_trial.p1), sdtm_trial.usubjid(sdtm_trial.p2)
    ae = {(row["USUBJID"], row["AETERM"]): str(row["AESEQ"]) for row in rows_of(ctx, "AE")}
    suppae = rows_of(ctx, "SUPPAE")
    # Neither event is of special interest; nothing else of the sponsor's is entered yet.
    assert [
        (row["USUBJID"], row["IDVAR"], row["IDVARVAL"], row["QNAM"], row["QVAL"], row["QORIG"])
        for row in suppae
    ] == [
        (p1, "AESEQ", ae[(p1, "Pyrexia")], "AESI", "N", "Collected"),
        (p2, "AESEQ", ae[(p2, "Headache")], "AESI", "N", "Collected"),
    ]
    assert {(row["STUDYID"], row["RDOMAIN"], row["QLABEL"]) for row in suppae} == {
        (sdtm_trial.team.trial.code, "AE", "Adverse Event of Special Interest")
    }
    (prednisone,) = [row for row in rows_of(ctx, "CM") if row["CMTRT"] == "Prednisone"]
    suppcm = {
        row["QNAM"]: row
        for row in rows_of(ctx, "SUPPCM")
        if (row["USUBJID"], row["IDVARVAL"]) == (p1, str(prednisone["CMSEQ"]))
    }
    assert (suppcm["CMPREDEQ"]["QVAL"], suppcm["CMPREDEQ"]["QORIG"]) == ("20", "Derived")
    assert suppcm["CMRESCUE"]["QVAL"] == "N"
    assert "CMDICT" not in suppcm  # not coded


def test_each_supp_record_is_a_value_of_its_parent_record(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx(LATEST, blinded=False)
    for parent in (dataset for dataset in DATASETS if dataset.name in SPONSOR):
        names = [variable.name for variable in parent.variables]
        seq = parent.keys[-1]
        expected = sorted(
            (values["USUBJID"], str(values[seq]), name, values[name])
            for values in (dict(zip(names, row, strict=True)) for row in parent.rows(ctx))
            for name in SPONSOR[parent.name]
            if values[name] not in (None, "")
        )
        found = rows_of(ctx, f"SUPP{parent.name}")
        got = [(r["USUBJID"], r["IDVARVAL"], r["QNAM"], r["QVAL"]) for r in found]
        # Numbers are written as text: compare them as numbers.
        assert [(u, i, q) for u, i, q, _ in got] == [(u, i, q) for u, i, q, _ in expected]
        for (*_, text), (*_, value) in zip(got, expected, strict=True):
            assert text == value if isinstance(value, str) else float(text) == value


def _fake_parent(revealing: frozenset[str]) -> Dataset:
    """A domain with one harmless qualifier, one marked revealing and one taken from a field
    the protocol names allocation-revealing."""
    collected = Supplemental("Collected")
    variables = (
        *keys("ZZ"),
        char("ZZPLAIN", "Plain", supplemental=collected),
        char("ZZARM", "Arm Hint", revealing=True, supplemental=collected),
        char("ZZSRC", "Source Hint", source=tuple(sorted(revealing))[:1], supplemental=collected),
    )
    layout = Layout(variables)

    def rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
        yield layout.row({
            "STUDYID": "S", "DOMAIN": "ZZ", "USUBJID": "S-1", "ZZSEQ": 1,
            "ZZPLAIN": "a", "ZZARM": "MSC", "ZZSRC": "LOT-1",
        })  # fmt: skip

    return Dataset("ZZ", "Fake", variables, rows, lambda ctx: 1, keys=("USUBJID", "ZZSEQ"))


def test_a_blinded_supp_leaves_out_what_would_reveal_the_arm(sdtm_trial) -> None:
    blinded, unblinded = sdtm_trial.ctx(LATEST), sdtm_trial.ctx(LATEST, blinded=False)
    sources = revealing_sources(blinded)
    assert sources
    supp = supplemental(_fake_parent(sources))
    assert [row[5:8] for row in supp.rows(blinded)] == [("ZZPLAIN", "Plain", "a")]
    assert supp.count(blinded) == 1
    (qnam,) = [v for v in qualifiers_as_exported(supp, blinded) if v.name == "QNAM"]
    assert qnam.codelist == ("ZZPLAIN",)
    assert [row[5] for row in supp.rows(unblinded)] == ["ZZARM", "ZZPLAIN", "ZZSRC"]
    assert supp.count(unblinded) == 3


def _with_parameter(ctx: ExportContext, name: str, value: str) -> ExportContext:
    """The export of `ctx` read with a protocol version that sets one more parameter."""
    version = copy.copy(ctx.protocol_version)
    version.definition = copy.deepcopy(version.definition)
    version.definition.setdefault("parameters", {})[name] = {"value": value}
    version.checksum = f"{version.checksum}+{name}={value}"
    return replace(ctx, protocol_version=version)


def test_aesev_comes_from_the_grade_only_where_the_protocol_maps_it(sdtm_trial) -> None:
    from exports.datasets.events import AESEV_PARAMETER

    ctx = sdtm_trial.ctx(LATEST)
    assert {row["AESEV"] for row in rows_of(ctx, "AE")} == {""}
    mapped = _with_parameter(ctx, AESEV_PARAMETER, "ctcae_grade")
    grades = {(row["AETERM"], row["AETOXGR"], row["AESEV"]) for row in rows_of(mapped, "AE")}
    assert grades == {("Pyrexia", "1", "MILD"), ("Headache", "2", "MODERATE")}
    none = _with_parameter(ctx, AESEV_PARAMETER, "none")
    assert {row["AESEV"] for row in rows_of(none, "AE")} == {""}


def test_ae_carries_the_meddra_path_of_its_coding_as_of_the_instant(sdtm_trial) -> None:
    from coding.services import coding_autocode
    from ecrf.access import Role
    from tests.coding.test_coding import load_both
    from tests.personas import member

    coded_at = LATEST + timedelta(days=1)
    trial = sdtm_trial.team.trial
    with at(coded_at):
        load_both()
        coder = member(trial, Role.CODER, None, "sdtm_coder")
        assert coding_autocode(actor=coder, trial=trial, now=coded_at) >= 1
    p2 = sdtm_trial.usubjid(sdtm_trial.p2)
    for blinded in (True, False):
        (headache,) = [
            row
            for row in rows_of(sdtm_trial.ctx(coded_at, blinded=blinded), "AE")
            if row["USUBJID"] == p2
        ]
        assert [headache[name] for name in ("AELLTCD", "AEDECOD", "AEHLT", "AEHLGTCD")] == [
            "99400001",
            "Headache",
            "Test headaches NEC HLT",
            "99100001",
        ]
        assert headache["AESOCCD"] == headache["AEBDSYCD"] == "99000001"
        assert headache["AESOC"] == headache["AEBODSYS"] != ""
        suppae = rows_of(sdtm_trial.ctx(coded_at, blinded=blinded), "SUPPAE")
        versions = [r["QVAL"] for r in suppae if r["USUBJID"] == p2 and r["QNAM"] == "AEDICT"]
        assert versions == ["MedDRA 99.0"]
    # Before the coding, the event has no path at all.
    (before,) = [row for row in rows_of(sdtm_trial.ctx(LATEST), "AE") if row["USUBJID"] == p2]
    assert before["AEHLT"] == before["AELLTCD"] == ""


def test_relrec_relates_the_renal_values_in_lb_to_the_responses_in_rs(sdtm_trial) -> None:
    ctx = sdtm_trial.ctx(LATEST)
    assert rows_of(ctx, "RELREC") == [
        {"STUDYID": sdtm_trial.team.trial.code, "RDOMAIN": domain, "USUBJID": "",
         "IDVAR": f"{domain}LNKID", "IDVARVAL": "", "RELTYPE": "MANY", "RELID": "RENAL"}
        for domain in ("LB", "RS")
    ]  # fmt: skip
    lb, rs = rows_of(ctx, "LB"), rows_of(ctx, "RS")
    responses = [row for row in rs if row["RSCAT"] == "RENAL RESPONSE"]
    assert responses and all(row["RSLNKID"].startswith("RENAL-") for row in responses)
    assert not any(row["RSLNKID"] for row in rs if row["RSCAT"] != "RENAL RESPONSE")
    for response in responses:
        values = [
            row
            for row in lb
            if (row["USUBJID"], row["LBLNKID"]) == (response["USUBJID"], response["RSLNKID"])
        ]
        assert values
        assert {(row["LBDTC"], row["VISITNUM"]) for row in values} == {
            (response["RSDTC"], response["VISITNUM"])
        }
    # A lab panel is not part of a renal assessment.
    assert not any(row["LBLNKID"] for row in lb if row["LBTESTCD"] == "HGB")


def test_define_xml_describes_each_qualifier_and_the_aesev_method(sdtm_trial, tmp_path) -> None:
    from lxml import etree

    from exports.datasets.events import AESEV_METHOD
    from exports.formats import write_export
    from tests.exports.test_tabular import DEFINE_NS, DEFINE_XSD

    for blinded in (True, False):
        folder = tmp_path / str(blinded)
        write_export(sdtm_trial.ctx(LATEST, blinded=blinded), "csv", folder, lambda n: None)
        tree = etree.parse(str(folder / "define.xml"))
        xsd = etree.XMLSchema(etree.parse(str(DEFINE_XSD)))
        assert xsd.validate(tree), xsd.error_log
        root = tree.getroot()
        lists = {
            el.get("OID"): [ref.get("ItemOID") for ref in el.iterfind("odm:ItemRef", DEFINE_NS)]
            for el in root.iterfind(".//def:ValueListDef", DEFINE_NS)
        }
        assert lists["VL.SUPPAE.QVAL"] == [
            f"IT.SUPPAE.QVAL.{name}" for name in sorted(SPONSOR["AE"])
        ]
        assert ("VL.SUPPEX.QVAL" in lists) is not blinded
        items = {el.get("OID"): el for el in root.iterfind(".//odm:ItemDef", DEFINE_NS)}
        sponsor = items["IT.SUPPAE.QVAL.AESPREL"]
        assert sponsor.find("def:Origin", DEFINE_NS).get("Type") == "Collected"
        assert sponsor.find("odm:CodeListRef", DEFINE_NS) is not None
        assert items["IT.SUPPCM.QVAL.CMPREDEQ"].get("DataType") == "float"
        qval = items["IT.SUPPAE.QVAL"].find("def:ValueListRef", DEFINE_NS)
        assert qval.get("ValueListOID") == "VL.SUPPAE.QVAL"
        where = root.find(
            ".//def:WhereClauseDef[@OID='WC.SUPPAE.AESPREL']/odm:RangeCheck", DEFINE_NS
        )
        assert where.findtext("odm:CheckValue", namespaces=DEFINE_NS) == "AESPREL"
        method = root.find(".//odm:MethodDef[@OID='MT.AESEV']", DEFINE_NS)
        assert method.findtext(".//odm:TranslatedText", namespaces=DEFINE_NS) == AESEV_METHOD
        assert (
            root.find(".//odm:ItemRef[@ItemOID='IT.AE.AESEV']", DEFINE_NS).get("MethodOID")
            == "MT.AESEV"
        )

"""Define-XML 2.1 of a tabular export: the datasets and variables as the export wrote them.

Written after the data files, so each character variable is declared with the length its file
carries (the SAS transport width, or the longest value of a CSV column) and each dataset points
at its file. A blinded export's define.xml declares only what that export holds.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from exports.base import ExportContext, Format, Variable, WrittenFile
from exports.datasets import ExportedDataset, exported_datasets
from exports.datasets.supplemental import kept_qualifiers
from exports.odm.writer import XmlWriter

__all__ = ["CT_VERSION", "DEFINE_NAME", "SDTMIG_VERSION", "STYLESHEET", "write_define"]

DEFINE_NAME = "define.xml"
# What the manifest names as the dataset of define.xml, as it names ODM for the ODM file.
DATASET = "DEFINE"
ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
SDTMIG_VERSION = "3.4"
# The CDISC SDTM controlled terminology release the codes follow; raise it deliberately when
# the datasets are checked against a newer release.
CT_VERSION = "2024-09-27"
# CDISC's stylesheet for Define-XML 2.1; only referenced: put it beside define.xml to read
# the file in a browser.
STYLESHEET = "define2-1.xsl"

# SDTMIG 3.4 class and structure of each dataset.
CLASSES = {
    "DM": "SPECIAL PURPOSE",
    "SE": "SPECIAL PURPOSE",
    "SV": "SPECIAL PURPOSE",
    "EC": "INTERVENTIONS",
    "EX": "INTERVENTIONS",
    "CM": "INTERVENTIONS",
    "AE": "EVENTS",
    "DS": "EVENTS",
    "DV": "EVENTS",
    "LB": "FINDINGS",
    "VS": "FINDINGS",
    "RS": "FINDINGS",
    "IE": "FINDINGS",
    "TS": "TRIAL DESIGN",
    "TA": "TRIAL DESIGN",
    "TE": "TRIAL DESIGN",
    "TV": "TRIAL DESIGN",
    "TI": "TRIAL DESIGN",
    "RELREC": "RELATIONSHIP",
}
STRUCTURES = {
    "DM": "One record per subject",
    "SE": "One record per actual Element per subject",
    "SV": "One record per actual or planned visit per subject",
    "EC": "One record per protocol-specified study treatment, collected-dosing interval, "
    "per subject, per mood",
    "EX": "One record per protocol-specified study treatment, constant-dosing interval, "
    "per subject",
    "CM": "One record per recorded intervention occurrence or constant-dosing interval per subject",
    "AE": "One record per adverse event per subject",
    "DS": "One record per disposition status or protocol milestone per subject",
    "DV": "One record per protocol deviation per subject",
    "LB": "One record per lab test per time point per visit per subject",
    "VS": "One record per vital sign measurement per time point per visit per subject",
    "RS": "One record per response assessment per time point per visit per subject",
    "IE": "One record per inclusion/exclusion criterion not met per subject",
    "TS": "One record per trial summary parameter value",
    "TA": "One record per planned Element per Arm",
    "TE": "One record per planned Element",
    "TV": "One record per planned Visit per Arm",
    "TI": "One record per I/E criterion",
    "RELREC": "One record per related record, group of records or dataset",
}
# SUPP-- datasets, one per domain with supplemental variables (SDTMIG 3.4 section 8.4).
SUPPQUAL_CLASS = "RELATIONSHIP"
SUPPQUAL_STRUCTURE = "One record per IDVAR, IDVARVAL, and QNAM value per subject"


def dataset_class(name: str) -> str:
    return SUPPQUAL_CLASS if name.startswith("SUPP") else CLASSES[name]


def structure(name: str) -> str:
    return SUPPQUAL_STRUCTURE if name.startswith("SUPP") else STRUCTURES[name]


# The datasets taken from the protocol, not from what was collected.
PROTOCOL_DATASETS = frozenset({"TS", "TA", "TE", "TV", "TI"})
# Decodes of the codes the datasets use that have an obvious one; a code list with a code
# outside these is written as enumerated values.
DECODES = {"Y": "Yes", "N": "No", "F": "Female", "M": "Male", "U": "Unknown"}
# How the derived variables every domain shares are computed (see the README's SDTM rules).
METHODS = {
    "SEQ": (
        "Sequence number",
        "Numbers the records of each subject from 1 in the dataset's key order.",
    ),
    "DY": (
        "Study day",
        "Date minus RFSTDTC plus 1 on or after RFSTDTC, date minus RFSTDTC before it; no day "
        "0; partial dates are not imputed and have no study day.",
    ),
    "EPOCH": (
        "Epoch",
        "SCREENING before the start of the first study infusion given, TREATMENT from it on, "
        "compared at the precision of both dates; a partial date straddling the start has none.",
    ),
}


def _method(dataset: str, variable: Variable) -> str:
    """The METHODS key of a derived variable (its own name when it states its method), empty
    for the others."""
    name = variable.name
    if variable.method:
        return name
    if name == "EPOCH":
        return "EPOCH"
    if name == f"{dataset}SEQ" or name == f"{dataset[:2]}SEQ":
        return "SEQ"
    if variable.type == "Num" and name.endswith("DY") and len(name) >= 4:
        return "DY"
    return ""


def origin(dataset: str, variable: Variable) -> str:
    """def:Origin Type of a variable: from what the dataset knows, else by SDTM convention."""
    if variable.origin:
        return variable.origin
    if variable.name in ("STUDYID", "DOMAIN"):
        return "Assigned"
    if _method(dataset, variable):
        return "Derived"
    if variable.source:
        return "Collected"
    if dataset in PROTOCOL_DATASETS:
        return "Protocol"
    return "Collected"


def data_type(dataset: str, variable: Variable) -> str:
    if variable.type == "Char":
        return "text"
    return "integer" if _method(dataset, variable) in ("SEQ", "DY") else "float"


def xpt_lengths(path: Path) -> dict[str, int]:
    """The storage width of each variable of a SAS transport file, read from its header."""
    import pyreadstat

    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    return dict(meta.variable_storage_width)


def csv_lengths(path: Path) -> dict[str, int]:
    """The longest value (in UTF-8 bytes, at least 1) of each column of a CSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        names = next(reader)
        longest = [1] * len(names)
        for row in reader:
            for index, value in enumerate(row):
                longest[index] = max(longest[index], len(value.encode("utf-8")))
    return dict(zip(names, longest, strict=True))


@dataclass(frozen=True)
class _Declared:
    exported: ExportedDataset
    file_name: str
    lengths: dict[str, int]
    # Of a SUPP-- dataset: the qualifiers this export writes, each a QVAL value list entry.
    qualifiers: tuple[Variable, ...] = ()

    @property
    def name(self) -> str:
        return self.exported.name


def _codes(variable: Variable, blinded: bool) -> tuple[str, ...]:
    """The fixed values of a variable as this export writes them: a masked one has its mask."""
    if blinded and variable.masked:
        return ()
    return variable.codelist


def write_define(
    ctx: ExportContext, fmt: Format, out_dir: Path, written: Iterable[WrittenFile]
) -> WrittenFile:
    """Write `define.xml` into `out_dir` for the dataset files already `written` there."""
    files = {item.dataset: Path(item.path) for item in written if _is_data(item)}
    declared = []
    for exported in exported_datasets(ctx):
        path = files[exported.name]
        lengths = xpt_lengths(path) if fmt == "xpt" else csv_lengths(path)
        parent = exported.dataset.parent
        qualifiers = kept_qualifiers(parent, ctx) if parent is not None else ()
        declared.append(_Declared(exported, path.name, lengths, qualifiers))
    target = out_dir / DEFINE_NAME
    with target.open("wb") as stream:
        _write(XmlWriter(stream), ctx, declared)
    return WrittenFile(path=target, dataset=DATASET, rows=0)


def _is_data(item: WrittenFile) -> bool:
    path = Path(item.path)
    return path.suffix in (".xpt", ".csv") and not path.stem.endswith("_codebook")


def _text(xml: XmlWriter, tag: str, text: str) -> None:
    xml.start(tag)
    xml.leaf("TranslatedText", text, {"xml:lang": "en"})
    xml.end(tag)


def _write(xml: XmlWriter, ctx: ExportContext, declared: list[_Declared]) -> None:
    code = ctx.trial.code
    moment = ctx.as_of.astimezone(UTC)
    kind = "BLINDED" if ctx.blinded else "UNBLINDED"
    xml.declaration()
    xml.instruction("xml-stylesheet", f'type="text/xsl" href="{STYLESHEET}"')
    xml.start(
        "ODM",
        {
            "xmlns": ODM_NS,
            "xmlns:def": DEF_NS,
            "xmlns:xlink": XLINK_NS,
            "ODMVersion": "1.3.2",
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{code}.{kind}.{moment:%Y%m%dT%H%M%S%fZ}",
            "CreationDateTime": moment.isoformat(),
            "AsOfDateTime": moment.isoformat(),
            "Originator": "ecrf",
            "SourceSystem": "ecrf",
            "def:Context": "Other",
        },
    )
    xml.start("Study", {"OID": f"STUDY.{code}"})
    xml.start("GlobalVariables")
    xml.leaf("StudyName", code)
    xml.leaf("StudyDescription", ctx.trial.title or code)
    xml.leaf("ProtocolName", code)
    xml.end("GlobalVariables")
    xml.start(
        "MetaDataVersion",
        {
            "OID": f"MDV.{code}.SDTM",
            "Name": f"{code} SDTM datasets ({'blinded' if ctx.blinded else 'unblinded'})",
            "Description": f"SDTM-style datasets of {code} as of {moment.isoformat()}",
            "def:DefineVersion": "2.1.0",
        },
    )
    xml.start("def:Standards")
    xml.empty(
        "def:Standard",
        {
            "OID": "STD.SDTMIG",
            "Name": "SDTMIG",
            "Type": "IG",
            "Version": SDTMIG_VERSION,
            "Status": "Final",
        },
    )
    xml.empty(
        "def:Standard",
        {
            "OID": "STD.CT.SDTM",
            "Name": "CDISC/NCI",
            "Type": "CT",
            "PublishingSet": "SDTM",
            "Version": CT_VERSION,
            "Status": "Final",
        },
    )
    xml.end("def:Standards")
    # Every value list, then every where clause they name, as the schema orders them.
    for item in declared:
        _value_list(xml, item)
    for item in declared:
        _where_clauses(xml, item)
    methods: dict[str, str] = {}
    for item in declared:
        _item_group(xml, item, methods)
    codelists = _shared_codelists(declared, ctx.blinded)
    for item in declared:
        for variable in item.exported.variables:
            found = codelists.get((variable.type, _codes(variable, ctx.blinded)))
            _item_def(xml, item, variable, found.oid if found else None)
        for variable in item.qualifiers:
            found = codelists.get(("Char", variable.codelist))
            _qualifier_def(xml, item, variable, found.oid if found else None)
    for (kind, codes), found in codelists.items():
        _codelist(xml, found, kind, codes)
    stated = {
        variable.name: (variable.label, variable.method)
        for item in declared
        for variable in item.exported.variables
        if variable.method
    }
    for key in sorted(set(methods.values())):
        name, description = stated.get(key) or METHODS[key]
        xml.start("MethodDef", {"OID": f"MT.{key}", "Name": name, "Type": "Computation"})
        _text(xml, "Description", description)
        xml.end("MethodDef")
    xml.end("MetaDataVersion")
    xml.end("Study")
    xml.end("ODM")
    xml.finish()


def _item_group(xml: XmlWriter, item: _Declared, methods: dict[str, str]) -> None:
    name = item.name
    xml.start(
        "ItemGroupDef",
        {
            "OID": f"IG.{name}",
            "Name": name,
            "Repeating": "No" if name == "DM" or name in PROTOCOL_DATASETS else "Yes",
            "IsReferenceData": "Yes" if name in PROTOCOL_DATASETS else "No",
            "SASDatasetName": name,
            # A SUPP-- dataset's domain is the one it qualifies.
            "Domain": item.exported.dataset.parent.name
            if item.exported.dataset.parent is not None
            else name,
            "Purpose": "Tabulation",
            "def:Structure": structure(name),
            "def:StandardOID": "STD.SDTMIG",
            "def:ArchiveLocationID": f"LF.{name}",
        },
    )
    _text(xml, "Description", item.exported.label)
    keys = item.exported.dataset.keys
    for order, variable in enumerate(item.exported.variables, start=1):
        method = _method(name, variable)
        if method:
            methods[variable.name] = method
        # RELREC relates whole datasets here: it has no subject.
        subject = variable.name == "USUBJID" and name != "RELREC"
        required = variable.name in ("STUDYID", "DOMAIN") or subject or variable.name in keys
        xml.empty(
            "ItemRef",
            {
                "ItemOID": f"IT.{name}.{variable.name}",
                "OrderNumber": str(order),
                "Mandatory": "Yes" if required else "No",
                "KeySequence": str(keys.index(variable.name) + 1)
                if variable.name in keys
                else None,
                "MethodOID": f"MT.{method}" if method else None,
            },
        )
    xml.empty("def:Class", {"Name": dataset_class(name)})
    xml.start("def:leaf", {"ID": f"LF.{name}", "xlink:href": item.file_name})
    xml.leaf("def:title", item.file_name)
    xml.end("def:leaf")
    xml.end("ItemGroupDef")


def _item_def(xml: XmlWriter, item: _Declared, variable: Variable, codelist: str | None) -> None:
    length = item.lengths[variable.name] if variable.type == "Char" else 8
    xml.start(
        "ItemDef",
        {
            "OID": f"IT.{item.name}.{variable.name}",
            "Name": variable.name,
            "DataType": data_type(item.name, variable),
            "Length": str(length),
            "SASFieldName": variable.name,
        },
    )
    _text(xml, "Description", variable.label)
    if codelist:
        xml.empty("CodeListRef", {"CodeListOID": codelist})
    xml.empty("def:Origin", {"Type": origin(item.name, variable)})
    if item.qualifiers and variable.name == "QVAL":
        xml.empty("def:ValueListRef", {"ValueListOID": f"VL.{item.name}.QVAL"})
    xml.end("ItemDef")


def _value_list(xml: XmlWriter, item: _Declared) -> None:
    """QVAL of a SUPP-- dataset, value by value: one entry per QNAM, where QNAM equals it."""
    if not item.qualifiers:
        return
    xml.start("def:ValueListDef", {"OID": f"VL.{item.name}.QVAL"})
    for order, variable in enumerate(item.qualifiers, start=1):
        xml.start(
            "ItemRef",
            {
                "ItemOID": f"IT.{item.name}.QVAL.{variable.name}",
                "OrderNumber": str(order),
                "Mandatory": "No",
            },
        )
        xml.empty("def:WhereClauseRef", {"WhereClauseOID": f"WC.{item.name}.{variable.name}"})
        xml.end("ItemRef")
    xml.end("def:ValueListDef")


def _where_clauses(xml: XmlWriter, item: _Declared) -> None:
    for variable in item.qualifiers:
        xml.start("def:WhereClauseDef", {"OID": f"WC.{item.name}.{variable.name}"})
        xml.start(
            "RangeCheck",
            {"Comparator": "EQ", "SoftHard": "Soft", "def:ItemOID": f"IT.{item.name}.QNAM"},
        )
        xml.leaf("CheckValue", variable.name)
        xml.end("RangeCheck")
        xml.end("def:WhereClauseDef")


def _qualifier_def(
    xml: XmlWriter, item: _Declared, variable: Variable, codelist: str | None
) -> None:
    """The QVAL of one QNAM: its label, type, code list and origin (QORIG)."""
    assert variable.supplemental is not None
    xml.start(
        "ItemDef",
        {
            "OID": f"IT.{item.name}.QVAL.{variable.name}",
            "Name": "QVAL",
            "DataType": "text" if variable.type == "Char" else "float",
            # At most the width of QVAL in the file.
            "Length": str(item.lengths["QVAL"]),
            "SASFieldName": "QVAL",
        },
    )
    _text(xml, "Description", variable.label)
    if codelist:
        xml.empty("CodeListRef", {"CodeListOID": codelist})
    xml.empty("def:Origin", {"Type": variable.supplemental.origin})
    xml.end("ItemDef")


@dataclass(frozen=True)
class _CodeList:
    oid: str
    name: str


def _shared_codelists(
    declared: list[_Declared], blinded: bool
) -> dict[tuple[str, tuple[str, ...]], _CodeList]:
    """One code list per set of values, named after its first variable (by its decodes when
    variables of several names share it, as the Y/N flags do)."""
    users: dict[tuple[str, tuple[str, ...]], list[tuple[str, Variable]]] = {}
    for item in declared:
        for variable in item.exported.variables:
            codes = _codes(variable, blinded)
            if codes:
                users.setdefault((variable.type, codes), []).append((item.name, variable))
        # The values of a qualifier are text in QVAL.
        for variable in item.qualifiers:
            if variable.codelist:
                users.setdefault(("Char", variable.codelist), []).append((item.name, variable))
    found = {}
    for (kind, codes), using in users.items():
        dataset, first = using[0]
        name = first.label
        if len({variable.name for _, variable in using}) > 1 and all(c in DECODES for c in codes):
            name = " / ".join(DECODES[code] for code in codes)
        found[(kind, codes)] = _CodeList(f"CL.{dataset}.{first.name}", name)
    return found


def _codelist(xml: XmlWriter, codelist: _CodeList, kind: str, codes: tuple[str, ...]) -> None:
    numeric = kind == "Num"
    xml.start(
        "CodeList",
        {
            "OID": codelist.oid,
            "Name": codelist.name,
            "DataType": "float" if numeric else "text",
        },
    )
    decoded = not numeric and all(code in DECODES for code in codes)
    for code in codes:
        if decoded:
            xml.start("CodeListItem", {"CodedValue": code})
            _text(xml, "Decode", DECODES[code])
            xml.end("CodeListItem")
        else:
            xml.empty("EnumeratedItem", {"CodedValue": code})
    xml.end("CodeList")

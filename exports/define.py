"""Define-XML 2.1 of a tabular export: the datasets and variables as the export wrote them.

Written after the data files, so each character variable is declared with the length its file
carries (the SAS transport width, or the longest value of a CSV column) and each dataset points
at its file. A blinded export's define.xml declares only what that export holds. The findings
results carry value-level metadata read from the same files (`exports/valuelevel.py`), and the
collected variables name the forms of the annotated CRF written beside it (`acrf.html`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from exports.annotated import form_anchor
from exports.base import ExportContext, Format, Variable, WrittenFile
from exports.cells import number_text
from exports.datasets import ExportedDataset, exported_datasets
from exports.datasets.supplemental import kept_qualifiers
from exports.odm.writer import XmlWriter
from exports.valuelevel import ValueDef, ValueList, ValueScanner, findings_prefix

__all__ = [
    "CT_VERSION",
    "DEFINE_NAME",
    "SDTMIG_VERSION",
    "STYLESHEET",
    "write_define",
    "write_stylesheet",
]

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
# The stylesheet written beside define.xml, so a browser shows it as a page. CDISC's
# define2-1.xsl is distributed only with the Define-XML package (no installed library ships
# it), so this is a small XSLT 1.0 sheet of our own.
STYLESHEET = "define.xsl"
STYLESHEET_SOURCE = Path(__file__).with_name("define.xsl")
STYLESHEET_DATASET = "STYLESHEET"
ACRF_LEAF = "LF.ACRF"

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
    "MH": "EVENTS",
    "LB": "FINDINGS",
    "VS": "FINDINGS",
    "RS": "FINDINGS",
    "IE": "FINDINGS",
    "RP": "FINDINGS",
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
    "MH": "One record per medical history event per subject",
    "LB": "One record per lab test per time point per visit per subject",
    "VS": "One record per vital sign measurement per time point per visit per subject",
    "RS": "One record per response assessment per time point per visit per subject",
    "IE": "One record per inclusion/exclusion criterion not met per subject",
    "RP": "One record per finding or result per time point per visit per subject",
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
    "STRES": (
        "Standard result",
        "The result in original units converted to the test's standard unit by its "
        "conversion factor; a result without a conversion is copied as written.",
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
    if name[2:] in STANDARD_RESULTS and name[:2] == dataset[:2]:
        return "STRES"
    return ""


# The standard-unit results of a findings dataset, converted from the original result.
STANDARD_RESULTS = frozenset({"STRESC", "STRESN", "STNRLO", "STNRHI"})


def pages(sources: tuple[str, ...]) -> tuple[str, ...]:
    """The named destinations in the annotated CRF of the forms `sources` are fields of."""
    found: dict[str, None] = {}
    for source in sources:
        found.setdefault(form_anchor(source.split(".", 1)[0]), None)
    return tuple(found)


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


def xpt_lengths(path: Path, scanner: ValueScanner | None = None) -> dict[str, int]:
    """The storage width of each variable of a SAS transport file, read from its header; the
    columns `scanner` reads are handed to it row by row."""
    import pyreadstat

    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    if scanner is not None:
        columns = list(scanner.columns)
        frame, _ = pyreadstat.read_xport(str(path), usecols=columns)
        numeric = [meta.readstat_variable_types[name] == "double" for name in columns]
        # Read in the file's order; handed over in the scanner's.
        for values in frame[columns].itertuples(index=False, name=None):
            scanner.add(
                [_xpt_text(value, kind) for value, kind in zip(values, numeric, strict=True)]
            )
    return dict(meta.variable_storage_width)


def _xpt_text(value: object, numeric: bool) -> str:
    """A value read from a SAS transport file as its CSV cell would hold it."""
    if numeric and isinstance(value, float):
        return number_text(value)
    return "" if value is None else str(value)


def csv_lengths(path: Path, scanner: ValueScanner | None = None) -> dict[str, int]:
    """The longest value (in UTF-8 bytes, at least 1) of each column of a CSV file; each row
    handed to `scanner` as well."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        names = next(reader)
        longest = [1] * len(names)
        read = [names.index(name) for name in scanner.columns] if scanner else []
        for row in reader:
            for index, value in enumerate(row):
                longest[index] = max(longest[index], len(value.encode("utf-8")))
            if scanner is not None:
                scanner.add([row[index] for index in read])
    return dict(zip(names, longest, strict=True))


@dataclass(frozen=True)
class _Declared:
    exported: ExportedDataset
    file_name: str
    lengths: dict[str, int]
    # Of a SUPP-- dataset: the qualifiers this export writes, each a QVAL value list entry.
    qualifiers: tuple[Variable, ...] = ()
    values: tuple[ValueList, ...] = ()

    @property
    def name(self) -> str:
        return self.exported.name


def _codes(variable: Variable, blinded: bool) -> tuple[str, ...]:
    """The fixed values of a variable as this export writes them: a masked one has its mask."""
    if blinded and variable.masked:
        return ()
    return variable.codelist


def write_define(
    ctx: ExportContext,
    fmt: Format,
    out_dir: Path,
    written: Iterable[WrittenFile],
    *,
    annotated: str = "",
) -> WrittenFile:
    """Write `define.xml` into `out_dir` for the dataset files already `written` there; the
    collected variables point at the forms of the annotated CRF `annotated` when it is given
    (a file name beside it)."""
    files = {item.dataset: Path(item.path) for item in written if _is_data(item)}
    declared = []
    for exported in exported_datasets(ctx):
        path = files[exported.name]
        names = [variable.name for variable in exported.variables]
        prefix = findings_prefix(names)
        scanner = ValueScanner(prefix, names) if prefix else None
        lengths = xpt_lengths(path, scanner) if fmt == "xpt" else csv_lengths(path, scanner)
        values = tuple(scanner.value_lists()) if scanner else ()
        parent = exported.dataset.parent
        qualifiers = kept_qualifiers(parent, ctx) if parent is not None else ()
        declared.append(_Declared(exported, path.name, lengths, qualifiers, values))
    target = out_dir / DEFINE_NAME
    with target.open("wb") as stream:
        _write(XmlWriter(stream), ctx, declared, annotated)
    return WrittenFile(path=target, dataset=DATASET, rows=0)


def write_stylesheet(out_dir: Path) -> WrittenFile:
    """Put the stylesheet define.xml names beside it."""
    target = out_dir / STYLESHEET
    target.write_bytes(STYLESHEET_SOURCE.read_bytes())
    return WrittenFile(path=target, dataset=STYLESHEET_DATASET, rows=0)


def _is_data(item: WrittenFile) -> bool:
    path = Path(item.path)
    return path.suffix in (".xpt", ".csv") and not path.stem.endswith("_codebook")


def _text(xml: XmlWriter, tag: str, text: str) -> None:
    xml.start(tag)
    xml.leaf("TranslatedText", text, {"xml:lang": "en"})
    xml.end(tag)


def _write(xml: XmlWriter, ctx: ExportContext, declared: list[_Declared], annotated: str) -> None:
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
    if annotated:
        xml.start("def:AnnotatedCRF")
        xml.empty("def:DocumentRef", {"leafID": ACRF_LEAF})
        xml.end("def:AnnotatedCRF")
    # Every value list, then every where clause they name, as the schema orders them.
    methods: dict[str, tuple[str, str]] = {}
    for item in declared:
        for values in item.values:
            _value_list(xml, item.name, values, methods)
        _qualifier_list(xml, item)
    _where_clauses(xml, declared)
    for item in declared:
        _qualifier_clauses(xml, item)
    for item in declared:
        _item_group(xml, item, methods)
    codelists = _shared_codelists(_coded(declared, ctx.blinded))
    for item in declared:
        lists = {values.variable for values in item.values}
        if item.qualifiers:
            lists.add("QVAL")
        for variable in item.exported.variables:
            found = codelists.get((variable.type, _codes(variable, ctx.blinded)))
            _item_def(
                xml,
                item,
                variable,
                found.oid if found else None,
                annotated,
                f"VL.{item.name}.{variable.name}" if variable.name in lists else "",
            )
        for variable in item.qualifiers:
            found = codelists.get(("Char", variable.codelist))
            _qualifier_def(xml, item, variable, found.oid if found else None, annotated)
    for item in declared:
        parents = {variable.name: variable for variable in item.exported.variables}
        for values in item.values:
            for value in values.values:
                found = codelists.get(("Char", value.codes)) if value.codes else None
                _value_item_def(xml, item.name, value, parents[value.variable], found, annotated)
    for (kind, codes), found in codelists.items():
        _codelist(xml, found, kind, codes)
    for oid, (name, description) in sorted(methods.items()):
        xml.start("MethodDef", {"OID": oid, "Name": name, "Type": "Computation"})
        _text(xml, "Description", description)
        xml.end("MethodDef")
    if annotated:
        xml.start("def:leaf", {"ID": ACRF_LEAF, "xlink:href": annotated})
        xml.leaf("def:title", "Annotated CRF")
        xml.end("def:leaf")
    xml.end("MetaDataVersion")
    xml.end("Study")
    xml.end("ODM")
    xml.finish()


def _item_group(xml: XmlWriter, item: _Declared, methods: dict[str, tuple[str, str]]) -> None:
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
            # A variable stating its method is described by its label and that method.
            stated = (variable.label, variable.method) if variable.method else None
            methods[f"MT.{method}"] = stated or METHODS[method]
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


def _origin(xml: XmlWriter, kind: str, page_refs: tuple[str, ...], annotated: str) -> None:
    """def:Origin; a collected one names the forms of the annotated CRF it comes from."""
    attributes = {"Type": kind, "Source": "Investigator" if kind == "Collected" else None}
    if not (kind == "Collected" and page_refs and annotated):
        xml.empty("def:Origin", attributes)
        return
    xml.start("def:Origin", attributes)
    xml.start("def:DocumentRef", {"leafID": ACRF_LEAF})
    xml.empty("def:PDFPageRef", {"PageRefs": " ".join(page_refs), "Type": "NamedDestination"})
    xml.end("def:DocumentRef")
    xml.end("def:Origin")


def _item_def(
    xml: XmlWriter,
    item: _Declared,
    variable: Variable,
    codelist: str | None,
    annotated: str,
    value_list: str,
) -> None:
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
    _origin(xml, origin(item.name, variable), pages(variable.source), annotated)
    if value_list:
        xml.empty("def:ValueListRef", {"ValueListOID": value_list})
    xml.end("ItemDef")


def _value_oid(dataset: str, value: ValueDef) -> str:
    return f"IT.{dataset}.{value.variable}.{value.key}"


def _value_method(dataset: str, value: ValueDef, methods: dict[str, tuple[str, str]]) -> str:
    """The MethodDef OID of a value: its own derivation, or the standard result's."""
    if value.derived:
        oid = f"MT.{dataset}.{value.key}"
        how = "; ".join(value.methods)
        methods[oid] = (
            f"{value.test or value.key} derivation"[:200],
            "Derived by the eCRF from the values collected at the same assessment"
            + (f": {how}." if how else "."),
        )
        return oid
    if value.variable[2:] in STANDARD_RESULTS:
        methods["MT.STRES"] = METHODS["STRES"]
        return "MT.STRES"
    return ""


def _value_list(
    xml: XmlWriter, dataset: str, values: ValueList, methods: dict[str, tuple[str, str]]
) -> None:
    xml.start("def:ValueListDef", {"OID": f"VL.{dataset}.{values.variable}"})
    for order, value in enumerate(values.values, start=1):
        method = _value_method(dataset, value, methods)
        xml.start(
            "ItemRef",
            {
                "ItemOID": _value_oid(dataset, value),
                "OrderNumber": str(order),
                "Mandatory": "No",
                "MethodOID": method or None,
            },
        )
        xml.empty("def:WhereClauseRef", {"WhereClauseOID": f"WC.{dataset}.{value.key}"})
        xml.end("ItemRef")
    xml.end("def:ValueListDef")


def _qualifier_list(xml: XmlWriter, item: _Declared) -> None:
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


def _qualifier_clauses(xml: XmlWriter, item: _Declared) -> None:
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
    xml: XmlWriter, item: _Declared, variable: Variable, codelist: str | None, annotated: str
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
    _origin(xml, variable.supplemental.origin, pages(variable.source), annotated)
    xml.end("ItemDef")


def _where_clauses(xml: XmlWriter, declared: list[_Declared]) -> None:
    """One def:WhereClauseDef per test (and category) a value list names, shared by its
    results."""
    for item in declared:
        written: set[str] = set()
        for values in item.values:
            for value in values.values:
                if value.key in written:
                    continue
                written.add(value.key)
                xml.start("def:WhereClauseDef", {"OID": f"WC.{item.name}.{value.key}"})
                for name, check in value.where:
                    xml.start(
                        "RangeCheck",
                        {
                            "Comparator": "EQ",
                            "SoftHard": "Soft",
                            "def:ItemOID": f"IT.{item.name}.{name}",
                        },
                    )
                    xml.leaf("CheckValue", check)
                    xml.end("RangeCheck")
                xml.end("def:WhereClauseDef")


def _value_item_def(
    xml: XmlWriter,
    dataset: str,
    value: ValueDef,
    parent: Variable,
    codelist: _CodeList | None,
    annotated: str,
) -> None:
    xml.start(
        "ItemDef",
        {
            "OID": _value_oid(dataset, value),
            "Name": value.variable,
            "DataType": value.data_type,
            "Length": str(value.length),
            "SignificantDigits": str(value.decimals) if value.decimals else None,
            "SASFieldName": value.variable,
        },
    )
    _text(xml, "Description", value.label)
    if codelist:
        xml.empty("CodeListRef", {"CodeListOID": codelist.oid})
    derived = value.derived or value.variable[2:] in STANDARD_RESULTS
    _origin(xml, "Derived" if derived else "Collected", pages(parent.source), annotated)
    xml.end("ItemDef")


@dataclass(frozen=True)
class _CodeList:
    oid: str
    name: str


def _coded(
    declared: list[_Declared], blinded: bool
) -> Iterator[tuple[str, str, str, str, tuple[str, ...]]]:
    """Every code list a variable or a value uses: (dataset, name, label, type, codes)."""
    for item in declared:
        for variable in item.exported.variables:
            codes = _codes(variable, blinded)
            if codes:
                yield item.name, variable.name, variable.label, variable.type, codes
        # The values of a qualifier are text in QVAL.
        for variable in item.qualifiers:
            if variable.codelist:
                yield item.name, variable.name, variable.label, "Char", variable.codelist
    for item in declared:
        for values in item.values:
            for value in values.values:
                if value.codes:
                    name = f"{value.variable}.{value.key}"
                    yield item.name, name, f"{value.label} results", "Char", value.codes


def _shared_codelists(
    coded: Iterable[tuple[str, str, str, str, tuple[str, ...]]],
) -> dict[tuple[str, tuple[str, ...]], _CodeList]:
    """One code list per set of values, named after its first variable (by its decodes when
    variables of several names share it, as the Y/N flags do)."""
    users: dict[tuple[str, tuple[str, ...]], list[tuple[str, str, str]]] = {}
    for dataset, name, label, kind, codes in coded:
        users.setdefault((kind, codes), []).append((dataset, name, label))
    found = {}
    for (kind, codes), using in users.items():
        dataset, first, label = using[0]
        if len({name for _, name, _ in using}) > 1 and all(c in DECODES for c in codes):
            label = " / ".join(DECODES[code] for code in codes)
        found[(kind, codes)] = _CodeList(f"CL.{dataset}.{first}", label)
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

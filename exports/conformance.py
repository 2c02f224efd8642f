"""A conformance check of a CSV or XPT export folder against its define.xml and SDTMIG rules.

It reads only the files, as a reviewer would: define.xml, the dataset files it names, nothing
from the database. Each rule of RULES is checked over every dataset it applies to, whatever
the dataset's name, so a new dataset is checked as soon as an export writes it.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from exports.datasets.common import dtc_day

__all__ = ["RULES", "Finding", "Report", "check_export"]

DEFINE_NAME = "define.xml"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"
XLINK = "{http://www.w3.org/1999/xlink}"

# Every rule the checker implements, by its code, with what it requires.
RULES: dict[str, str] = {
    "DEFINE-SCHEMA": "define.xml is valid against the Define-XML 2.1 schema.",
    "DEFINE-FILE": "Every dataset define.xml declares has its file, and every data file is "
    "declared.",
    "VAR-MATCH": "A dataset's file holds exactly the variables define.xml declares, in order.",
    "VAR-TYPE": "Num variables hold numbers (integers where declared integer); SAS transport "
    "types match the declared types.",
    "VAR-LENGTH": "No character value is longer (in bytes) than its declared length, nor than "
    "200 bytes.",
    "CODELIST": "A variable with a code list holds only the code list's values.",
    "VALUE-LEVEL": "Every findings result matches its value-level metadata (the where clause "
    "of its test): data type, length and code list; no result lacks one.",
    "REQUIRED": "Required variables (declared mandatory, and the SDTMIG required ones: "
    "STUDYID, DOMAIN, USUBJID, --SEQ, --TESTCD, --TEST, --TERM, --TRT, --PARMCD, --PARM, "
    "AEDECOD, DSDECOD, DM SUBJID/SITEID/SEX/COUNTRY, SV/TV VISITNUM, SE/TA/TE ETCD, ...) are "
    "populated in every record.",
    "SEQ-UNIQUE": "--SEQ is a positive integer, unique per subject in each dataset (per "
    "parameter in TS).",
    "DY-NONZERO": "No study day (--DY, --STDY, --ENDY) is 0.",
    "DY-RFSTDTC": "A study day equals the day of its --DTC counted from DM.RFSTDTC (no day 0) "
    "and is empty when either date is missing or partial.",
    "ISO8601": "--DTC variables hold ISO 8601 dates or date-times (partial allowed); "
    "--DUR, --ELTM and --EVLINT hold ISO 8601 durations.",
    "DATE-ORDER": "--STDTC is not after --ENDTC when both are complete dates.",
    "USUBJID-DM": "Every USUBJID of every dataset is in DM, and DM has one record per subject.",
    "VISITNUM-SV": "Every subject's VISITNUM in another dataset is one of that subject's "
    "visits in SV.",
    "EPOCH-TA": "Every EPOCH value (in SE and every dated record) is an EPOCH of TA.",
    "ARM-TA": "DM's ARMCD and ACTARMCD values are arms of TA; the ETCD of SE and TA are "
    "elements of TE.",
    "DOMAIN-VALUE": "DOMAIN equals the dataset's name; one STUDYID across all datasets.",
    "STAT-ORRES": "In a findings dataset with --STAT, a record has a result or --STAT "
    "'NOT DONE', never both.",
    "RELATED-RECORD": "A SUPP-- or RELREC record names a dataset of the export (RDOMAIN) and "
    "one of its variables (IDVAR); with IDVARVAL, a record of that dataset (of the same "
    "subject, when USUBJID is given) holds that value.",
    "XPT-ASCII": "SAS transport files hold ASCII characters only, in values and labels.",
    "NAMES": "Dataset and variable names have at most 8 characters (letters, digits, "
    "underscore, a letter first), labels at most 40; --TESTCD and --PARMCD values are "
    "valid names of at most 8 characters and --TEST values (but IETEST) at most 40 "
    "characters.",
}

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
ISO_DATE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
ISO_DURATION = re.compile(
    r"^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
DURATIONS = ("DUR", "ELTM", "EVLINT")
# SDTMIG required variables named by their suffix after the two-letter prefix.
REQUIRED_SUFFIXES = ("TESTCD", "TEST", "TERM", "TRT", "PARMCD", "PARM")
# SDTMIG required variables named in full, per dataset.
REQUIRED_BY_DATASET = {
    "DM": ("SUBJID", "SITEID", "SEX", "COUNTRY"),
    "AE": ("AEDECOD",),
    "DS": ("DSDECOD", "DSCAT"),
    "SV": ("VISITNUM",),
    "TV": ("VISITNUM",),
    "SE": ("ETCD", "SESTDTC"),
    "TA": ("ARMCD", "ARM", "TAETORD", "ETCD", "EPOCH"),
    "TE": ("ETCD", "ELEMENT", "TESTRL"),
    "TI": ("IECAT",),
    "RELREC": ("RDOMAIN", "RELID"),
}
REQUIRED_SUPP = ("RDOMAIN", "QNAM", "QLABEL", "QVAL", "QORIG")
# Limit of the findings kept per rule, dataset and variable: the count goes on.
EXAMPLES = 20


@dataclass(frozen=True)
class Finding:
    """One breach of a rule: where it is (row counts from 1, 0 for the dataset) and what."""

    rule: str
    dataset: str
    variable: str
    row: int
    message: str

    def __str__(self) -> str:
        where = ".".join(part for part in (self.dataset, self.variable) if part)
        row = f" row {self.row}" if self.row else ""
        return f"{self.rule} {where}{row}: {self.message}"


@dataclass
class Report:
    """The findings of one check, with how many breaches each rule had in all."""

    findings: list[Finding] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    datasets: int = 0
    records: int = 0
    _kept: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add(self, rule: str, dataset: str, variable: str, row: int, message: str) -> None:
        self.counts[rule] += 1
        key = (rule, dataset, variable)
        self._kept[key] += 1
        if self._kept[key] <= EXAMPLES:
            self.findings.append(Finding(rule, dataset, variable, row, message))

    @property
    def errors(self) -> int:
        return sum(self.counts.values())

    def rules_broken(self) -> set[str]:
        return set(self.counts)


@dataclass(frozen=True)
class Declared:
    """A variable as define.xml declares it."""

    name: str
    data_type: str
    length: int
    label: str
    mandatory: bool
    codes: frozenset[str] | None


@dataclass(frozen=True)
class ValueRule:
    """One value of a value list: its where clause and what the value must be."""

    conditions: tuple[tuple[str, frozenset[str]], ...]
    data_type: str
    length: int
    codes: frozenset[str] | None


@dataclass
class Dataset:
    name: str
    label: str
    href: str
    variables: list[Declared]
    value_lists: dict[str, list[ValueRule]] = field(default_factory=dict)
    rows: list[dict[str, str]] = field(default_factory=list)
    file_names: list[str] = field(default_factory=list)

    def prefix(self) -> str:
        return self.name[:2]

    def has(self, name: str) -> bool:
        return any(variable.name == name for variable in self.variables)


def check_export(folder: Path) -> Report:
    """Check the CSV or XPT export in `folder` against its define.xml and the rules."""
    from lxml import etree

    report = Report()
    define_path = folder / DEFINE_NAME
    if not define_path.exists():
        report.add("DEFINE-FILE", "", "", 0, "There is no define.xml.")
        return report
    tree = etree.parse(str(define_path))
    _check_schema(tree, report)
    datasets = _declared(tree)
    _read_files(folder, datasets, report)
    by_name = {dataset.name: dataset for dataset in datasets}
    report.datasets = len(datasets)
    report.records = sum(len(dataset.rows) for dataset in datasets)
    for dataset in datasets:
        _check_names(dataset, report)
        _check_values(dataset, report)
        _check_value_level(dataset, report)
        _check_required(dataset, report)
        _check_sequence(dataset, report)
        _check_dates(dataset, report)
        _check_findings_status(dataset, report)
    _check_study(datasets, report)
    _check_subjects(by_name, report)
    _check_design(by_name, report)
    _check_related(by_name, report)
    return report


def _check_schema(tree: Any, report: Report) -> None:
    import odmlib
    from lxml import etree

    xsd_path = Path(odmlib.__file__).resolve().parent / "schemas/define/2.1/define2-1-0.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd_path)))
    if not schema.validate(tree):
        for error in list(schema.error_log)[:EXAMPLES]:
            report.add("DEFINE-SCHEMA", DEFINE_NAME, "", error.line, error.message)


def _text(element: Any, path: str) -> str:
    found = element.find(f"{ODM}{path}/{ODM}TranslatedText")
    return found.text or "" if found is not None else ""


def _declared(tree: Any) -> list[Dataset]:
    """The datasets define.xml declares, with their variables and value lists."""
    root = tree.getroot()
    items = {item.get("OID"): item for item in root.iter(f"{ODM}ItemDef")}
    codelists = {
        codelist.get("OID"): frozenset(
            child.get("CodedValue")
            for child in codelist
            if child.tag in (f"{ODM}CodeListItem", f"{ODM}EnumeratedItem")
        )
        for codelist in root.iter(f"{ODM}CodeList")
    }
    wheres = {where.get("OID"): where for where in root.iter(f"{DEF}WhereClauseDef")}
    value_lists = {vl.get("OID"): vl for vl in root.iter(f"{DEF}ValueListDef")}

    def codes_of(item: Any) -> frozenset[str] | None:
        ref = item.find(f"{ODM}CodeListRef")
        return codelists.get(ref.get("CodeListOID"), frozenset()) if ref is not None else None

    datasets = []
    for group in root.iter(f"{ODM}ItemGroupDef"):
        leaf = group.find(f"{DEF}leaf")
        variables = []
        lists: dict[str, list[ValueRule]] = {}
        for ref in group.iter(f"{ODM}ItemRef"):
            item = items.get(ref.get("ItemOID"))
            if item is None:
                continue
            name = item.get("Name")
            variables.append(
                Declared(
                    name=name,
                    data_type=item.get("DataType"),
                    length=int(item.get("Length") or 0),
                    label=_text(item, "Description"),
                    mandatory=ref.get("Mandatory") == "Yes",
                    codes=codes_of(item),
                )
            )
            list_ref = item.find(f"{DEF}ValueListRef")
            if list_ref is not None and list_ref.get("ValueListOID") in value_lists:
                lists[name] = [
                    _value_rule(value_ref, items, wheres, codes_of)
                    for value_ref in value_lists[list_ref.get("ValueListOID")].iter(f"{ODM}ItemRef")
                ]
        datasets.append(
            Dataset(
                name=group.get("Name"),
                label=_text(group, "Description"),
                href=leaf.get(f"{XLINK}href") if leaf is not None else "",
                variables=variables,
                value_lists=lists,
            )
        )
    return datasets


def _value_rule(
    ref: Any, items: dict[str, Any], wheres: dict[str, Any], codes_of: Any
) -> ValueRule:
    item = items[ref.get("ItemOID")]
    conditions = []
    where_ref = ref.find(f"{DEF}WhereClauseRef")
    where = wheres.get(where_ref.get("WhereClauseOID")) if where_ref is not None else None
    for check in where.iter(f"{ODM}RangeCheck") if where is not None else ():
        target = items.get(check.get(f"{DEF}ItemOID"))
        values = frozenset(value.text or "" for value in check.iter(f"{ODM}CheckValue"))
        conditions.append((target.get("Name") if target is not None else "", values))
    return ValueRule(
        conditions=tuple(conditions),
        data_type=item.get("DataType"),
        length=int(item.get("Length") or 0),
        codes=codes_of(item),
    )


def _read_files(folder: Path, datasets: list[Dataset], report: Report) -> None:
    declared = set()
    for dataset in datasets:
        path = folder / dataset.href
        declared.add(dataset.href)
        if not dataset.href or not path.exists():
            report.add("DEFINE-FILE", dataset.name, "", 0, f"No file {dataset.href!r}.")
            continue
        if path.suffix == ".xpt":
            names = _read_xpt(path, dataset, report)
        else:
            names = _read_csv(path, dataset)
        dataset.file_names = names
        expected = [variable.name for variable in dataset.variables]
        if names != expected:
            missing = [name for name in expected if name not in names]
            extra = [name for name in names if name not in expected]
            report.add(
                "VAR-MATCH",
                dataset.name,
                "",
                0,
                f"The file holds {names} where define.xml declares {expected} "
                f"(missing {missing}, not declared {extra}).",
            )
    for path in sorted(folder.iterdir()):
        data = path.suffix in (".csv", ".xpt") and not path.stem.endswith("_codebook")
        if data and path.name not in declared:
            report.add("DEFINE-FILE", path.stem.upper(), "", 0, f"{path.name} is not declared.")


def _read_csv(path: Path, dataset: Dataset) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        names = next(reader, [])
        dataset.rows = [dict(zip(names, row, strict=False)) for row in reader]
    return names


def _read_xpt(path: Path, dataset: Dataset, report: Report) -> list[str]:
    import pyreadstat

    from exports.cells import number_text

    frame, meta = pyreadstat.read_xport(str(path), encoding="latin1")
    names = list(meta.column_names)
    kinds = meta.readstat_variable_types
    declared = {variable.name: variable for variable in dataset.variables}
    if not (meta.file_label or "").isascii():
        report.add("XPT-ASCII", dataset.name, "", 0, "The dataset label is not ASCII.")
    for name, label in zip(names, meta.column_labels, strict=True):
        if label and not label.isascii():
            report.add("XPT-ASCII", dataset.name, name, 0, "The label is not ASCII.")
        variable = declared.get(name)
        wanted = "string" if variable is None or variable.data_type == "text" else "double"
        if variable is not None and kinds[name] != wanted:
            report.add(
                "VAR-TYPE", dataset.name, name, 0, f"Stored as {kinds[name]}, declared {wanted}."
            )
    numeric = {name for name in names if kinds[name] == "double"}
    rows = []
    for number, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        row = {}
        for name, value in zip(names, values, strict=True):
            if name in numeric:
                row[name] = number_text(value) if isinstance(value, float) else ""
            else:
                text = "" if value is None else str(value)
                if not text.isascii():
                    report.add(
                        "XPT-ASCII", dataset.name, name, number, f"Non-ASCII value {text!r}."
                    )
                row[name] = text
        rows.append(row)
    dataset.rows = rows
    return names


def _check_names(dataset: Dataset, report: Report) -> None:
    if not NAME.match(dataset.name):
        report.add("NAMES", dataset.name, "", 0, "The dataset name is not a SAS name.")
    if len(dataset.label) > 40:
        report.add("NAMES", dataset.name, "", 0, "The dataset label is over 40 characters.")
    for variable in dataset.variables:
        if not NAME.match(variable.name):
            report.add("NAMES", dataset.name, variable.name, 0, "Not a SAS name.")
        if len(variable.label) > 40:
            report.add("NAMES", dataset.name, variable.name, 0, "Label over 40 characters.")
    for name in dataset.file_names:
        if name.endswith(("TESTCD", "PARMCD")):
            for number, row in enumerate(dataset.rows, start=1):
                value = row.get(name, "")
                if value and not NAME.match(value):
                    report.add("NAMES", dataset.name, name, number, f"{value!r} is not a name.")
        # --TEST holds at most 40 characters; IETEST, the criterion, up to 200.
        if name.endswith("TEST") and len(name) == 6 and name != "IETEST":
            for number, row in enumerate(dataset.rows, start=1):
                if len(row.get(name, "")) > 40:
                    report.add("NAMES", dataset.name, name, number, "Over 40 characters.")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _type_error(text: str, data_type: str) -> str:
    if data_type in ("integer", "float") and not _is_number(text):
        return f"{text!r} is not a number."
    if data_type == "integer" and not float(text).is_integer():
        return f"{text!r} is not an integer."
    return ""


def _in_codes(text: str, codes: frozenset[str], data_type: str) -> bool:
    if text in codes:
        return True
    if data_type in ("integer", "float") and _is_number(text):
        return any(_is_number(code) and float(code) == float(text) for code in codes)
    return False


def _check_values(dataset: Dataset, report: Report) -> None:
    for variable in dataset.variables:
        name = variable.name
        if name not in dataset.file_names:
            continue
        for number, row in enumerate(dataset.rows, start=1):
            text = row.get(name, "")
            if text == "":
                continue
            error = _type_error(text, variable.data_type)
            if error:
                report.add("VAR-TYPE", dataset.name, name, number, error)
            if variable.data_type == "text":
                size = len(text.encode("utf-8"))
                if size > variable.length or size > 200:
                    report.add(
                        "VAR-LENGTH",
                        dataset.name,
                        name,
                        number,
                        f"{size} bytes, declared {variable.length}.",
                    )
            if variable.codes is not None and not _in_codes(
                text, variable.codes, variable.data_type
            ):
                report.add(
                    "CODELIST", dataset.name, name, number, f"{text!r} is not in its code list."
                )


def _check_value_level(dataset: Dataset, report: Report) -> None:
    for name, rules in dataset.value_lists.items():
        for number, row in enumerate(dataset.rows, start=1):
            text = row.get(name, "")
            if text == "":
                continue
            rule = next(
                (
                    rule
                    for rule in rules
                    if all(row.get(target, "") in values for target, values in rule.conditions)
                ),
                None,
            )
            if rule is None:
                report.add("VALUE-LEVEL", dataset.name, name, number, "No where clause applies.")
                continue
            error = _type_error(text, rule.data_type)
            if not error and len(text.encode("utf-8")) > rule.length:
                error = f"{text!r} is longer than {rule.length}."
            if not error and rule.codes is not None and text not in rule.codes:
                error = f"{text!r} is not in the value's code list."
            if error:
                report.add("VALUE-LEVEL", dataset.name, name, number, error)


def _required(dataset: Dataset) -> list[str]:
    prefix = dataset.prefix()
    names = {variable.name for variable in dataset.variables}
    wanted = [variable.name for variable in dataset.variables if variable.mandatory]
    wanted += ["STUDYID", "DOMAIN", f"{prefix}SEQ"]
    # A RELREC record relating whole datasets has no subject.
    wanted += [] if dataset.name == "RELREC" else ["USUBJID"]
    wanted += [f"{prefix}{suffix}" for suffix in REQUIRED_SUFFIXES]
    wanted += REQUIRED_BY_DATASET.get(dataset.name, ())
    if dataset.name.startswith("SUPP"):
        wanted += REQUIRED_SUPP
    return [name for name in dict.fromkeys(wanted) if name in names]


def _check_required(dataset: Dataset, report: Report) -> None:
    for name in _required(dataset):
        if name not in dataset.file_names:
            continue
        for number, row in enumerate(dataset.rows, start=1):
            if row.get(name, "") == "":
                report.add("REQUIRED", dataset.name, name, number, "Empty.")


def _check_sequence(dataset: Dataset, report: Report) -> None:
    name = f"{dataset.prefix()}SEQ"
    if name not in dataset.file_names:
        return
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(dataset.rows, start=1):
        value = row.get(name, "")
        if value == "":
            continue
        if not _is_number(value) or not float(value).is_integer() or float(value) < 1:
            report.add(
                "SEQ-UNIQUE", dataset.name, name, number, f"{value!r} is not a positive integer."
            )
        # Per subject; in a dataset without subjects (TS), per parameter.
        owner = row.get("USUBJID") or row.get("POOLID") or row.get(f"{dataset.prefix()}PARMCD", "")
        key = (owner, value)
        if key in seen:
            report.add("SEQ-UNIQUE", dataset.name, name, number, f"{value} repeats for {owner}.")
        seen.add(key)


def _study_day(day: date, reference: date) -> int:
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


def _check_dates(dataset: Dataset, report: Report) -> None:
    names = dataset.file_names
    for name in names:
        if name.endswith("DTC"):
            for number, row in enumerate(dataset.rows, start=1):
                value = row.get(name, "")
                if value and not ISO_DATE.match(value):
                    report.add("ISO8601", dataset.name, name, number, f"{value!r} is not ISO 8601.")
        elif name.endswith(DURATIONS):
            for number, row in enumerate(dataset.rows, start=1):
                value = row.get(name, "")
                if value and not ISO_DURATION.match(value):
                    report.add("ISO8601", dataset.name, name, number, f"{value!r} is no duration.")
    prefix = dataset.prefix()
    start, end = f"{prefix}STDTC", f"{prefix}ENDTC"
    if start in names and end in names:
        for number, row in enumerate(dataset.rows, start=1):
            first, last = dtc_day(row.get(start, "")), dtc_day(row.get(end, ""))
            if first and last and first > last:
                report.add("DATE-ORDER", dataset.name, start, number, f"After {end}.")


def _check_study_days(dataset: Dataset, reference: dict[str, date | None], report: Report) -> None:
    declared = {variable.name: variable for variable in dataset.variables}
    for name in dataset.file_names:
        variable = declared.get(name)
        if not (name.endswith("DY") and variable and variable.data_type == "integer"):
            continue
        dtc = f"{name[:-2]}DTC"
        for number, row in enumerate(dataset.rows, start=1):
            value = row.get(name, "")
            if value and _is_number(value) and float(value) == 0:
                report.add("DY-NONZERO", dataset.name, name, number, "Study day 0.")
            if dtc not in dataset.file_names or "USUBJID" not in dataset.file_names:
                continue
            day = dtc_day(row.get(dtc, ""))
            rfstdtc = reference.get(row.get("USUBJID", ""))
            expected = str(_study_day(day, rfstdtc)) if day and rfstdtc else ""
            actual = str(int(float(value))) if value and _is_number(value) else value
            if actual != expected:
                report.add(
                    "DY-RFSTDTC",
                    dataset.name,
                    name,
                    number,
                    f"{value or 'empty'}, expected {expected or 'empty'} from {dtc} and RFSTDTC.",
                )


def _check_findings_status(dataset: Dataset, report: Report) -> None:
    prefix = dataset.prefix()
    result, status = f"{prefix}ORRES", f"{prefix}STAT"
    if result not in dataset.file_names or status not in dataset.file_names:
        return
    for number, row in enumerate(dataset.rows, start=1):
        has_result, not_done = row.get(result, "") != "", row.get(status, "") == "NOT DONE"
        if has_result == not_done:
            message = "A result marked NOT DONE." if has_result else "No result, not NOT DONE."
            report.add("STAT-ORRES", dataset.name, status, number, message)


def _check_study(datasets: list[Dataset], report: Report) -> None:
    studies: set[str] = set()
    for dataset in datasets:
        for number, row in enumerate(dataset.rows, start=1):
            if "STUDYID" in row:
                studies.add(row["STUDYID"])
            domain = row.get("DOMAIN")
            if (
                domain is not None
                and domain != dataset.name
                and not dataset.name.startswith(("SUPP", "RELREC"))
            ):
                report.add("DOMAIN-VALUE", dataset.name, "DOMAIN", number, f"{domain!r}.")
    if len(studies) > 1:
        report.add("DOMAIN-VALUE", "", "STUDYID", 0, f"Several studies: {sorted(studies)}.")


def _subject_rows(datasets: Iterable[Dataset]) -> Iterator[tuple[Dataset, int, dict[str, str]]]:
    for dataset in datasets:
        if "USUBJID" in dataset.file_names:
            for number, row in enumerate(dataset.rows, start=1):
                yield dataset, number, row


def _check_subjects(by_name: dict[str, Dataset], report: Report) -> None:
    dm = by_name.get("DM")
    if dm is None:
        report.add("USUBJID-DM", "DM", "", 0, "There is no DM.")
        return
    subjects = Counter(row.get("USUBJID", "") for row in dm.rows)
    for usubjid, count in subjects.items():
        if count > 1:
            report.add("USUBJID-DM", "DM", "USUBJID", 0, f"{usubjid} has {count} records.")
    reference = {row.get("USUBJID", ""): dtc_day(row.get("RFSTDTC", "")) for row in dm.rows}
    sv = by_name.get("SV")
    visits: dict[str, set[float]] = defaultdict(set)
    for row in sv.rows if sv else ():
        if _is_number(row.get("VISITNUM", "")):
            visits[row.get("USUBJID", "")].add(float(row["VISITNUM"]))
    others = [dataset for name, dataset in by_name.items() if name != "DM"]
    for dataset, number, row in _subject_rows(others):
        usubjid = row.get("USUBJID", "")
        if usubjid and usubjid not in subjects:
            report.add("USUBJID-DM", dataset.name, "USUBJID", number, f"{usubjid} is not in DM.")
        visitnum = row.get("VISITNUM", "")
        checked = sv is not None and dataset is not sv and _is_number(visitnum)
        if checked and float(visitnum) not in visits.get(usubjid, set()):
            report.add(
                "VISITNUM-SV", dataset.name, "VISITNUM", number,
                f"{usubjid} has no visit {visitnum} in SV.",
            )  # fmt: skip
    for dataset in by_name.values():
        _check_study_days(dataset, reference, report)


def _values(dataset: Dataset | None, name: str) -> set[str]:
    return {row.get(name, "") for row in dataset.rows} - {""} if dataset else set()


def _check_design(by_name: dict[str, Dataset], report: Report) -> None:
    ta, te = by_name.get("TA"), by_name.get("TE")
    if ta is None:
        return
    epochs, arms = _values(ta, "EPOCH"), _values(ta, "ARMCD")
    for dataset in by_name.values():
        if "EPOCH" not in dataset.file_names or dataset is ta:
            continue
        for number, row in enumerate(dataset.rows, start=1):
            epoch = row.get("EPOCH", "")
            if epoch and epoch not in epochs:
                report.add("EPOCH-TA", dataset.name, "EPOCH", number, f"{epoch!r} is not in TA.")
    dm = by_name.get("DM")
    for name in ("ARMCD", "ACTARMCD"):
        for number, row in enumerate(dm.rows if dm else (), start=1):
            arm = row.get(name, "")
            if arm and arm not in arms:
                report.add("ARM-TA", "DM", name, number, f"{arm!r} is not an arm of TA.")
    if te is None:
        return
    elements = _values(te, "ETCD")
    for designed in (ta, by_name.get("SE")):
        for number, row in enumerate(designed.rows if designed else (), start=1):
            element = row.get("ETCD", "")
            if designed is not None and element and element not in elements:
                report.add("ARM-TA", designed.name, "ETCD", number, f"{element!r} is not in TE.")


def _check_related(by_name: dict[str, Dataset], report: Report) -> None:
    """The parent records SUPP-- and RELREC point at (SDTMIG 3.4 sections 8.3 and 8.4)."""
    held: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for dataset in by_name.values():
        if not (dataset.name.startswith("SUPP") or dataset.name == "RELREC"):
            continue
        for number, row in enumerate(dataset.rows, start=1):
            domain, idvar = row.get("RDOMAIN", ""), row.get("IDVAR", "")
            parent = by_name.get(domain)
            if parent is None:
                message = f"{domain!r} is not a dataset of the export."
                report.add("RELATED-RECORD", dataset.name, "RDOMAIN", number, message)
                continue
            if not idvar:
                continue
            if idvar not in parent.file_names:
                message = f"{domain} has no variable {idvar!r}."
                report.add("RELATED-RECORD", dataset.name, "IDVAR", number, message)
                continue
            value, usubjid = row.get("IDVARVAL", ""), row.get("USUBJID", "")
            if not value:
                continue
            if (domain, idvar) not in held:
                held[(domain, idvar)] = {
                    (record.get("USUBJID", ""), record.get(idvar, "")) for record in parent.rows
                } | {("", record.get(idvar, "")) for record in parent.rows}
            if (usubjid, value) not in held[(domain, idvar)]:
                message = f"No {domain} record of {usubjid or 'any subject'} has {idvar} {value}."
                report.add("RELATED-RECORD", dataset.name, "IDVARVAL", number, message)

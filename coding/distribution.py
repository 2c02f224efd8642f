"""Read the distribution files of MedDRA (ASCII, `$`-separated) and WHODrug (B3, fixed width)
into plain rows, refusing a set of files that is incomplete, of another version or mixed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecrf.errors import DomainError

MEDDRA_FILES = (
    "llt.asc",
    "pt.asc",
    "hlt.asc",
    "hlgt.asc",
    "soc.asc",
    "hlt_pt.asc",
    "hlgt_hlt.asc",
    "soc_hlgt.asc",
    "mdhier.asc",
    "meddra_release.asc",
)
WHODRUG_FILES = ("DD.txt", "DDA.txt")
# Field positions of the B3 drug file (DD): drug record number, sequence numbers 1 and 2,
# check digit, designation, source year, source, company, number of ingredients, salt/ester
# code, year/quarter, then the drug name (up to 1500 characters).
DD_RECORD, DD_SEQ1, DD_SEQ2, DD_NAME = slice(0, 6), slice(6, 8), slice(8, 11), slice(31, 1531)
# The ATC file (DDA): drug record number, sequence numbers 1 and 2, check digit, ATC code.
DDA_CODE, DDA_ATC = slice(0, 11), slice(12, 19)
PREFERRED = ("01", "001")


def match_key(text: str) -> str:
    """What two terms share when they match exactly: case and surrounding spaces aside."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Llt:
    llt_code: str
    llt_name: str
    current: bool
    pt_code: str
    pt_name: str
    hlt_code: str
    hlt_name: str
    hlgt_code: str
    hlgt_name: str
    soc_code: str
    soc_name: str


@dataclass(frozen=True)
class Drug:
    drug_code: str
    name: str
    preferred_name: str
    atc_code: str


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _fields(folder: Path, name: str) -> list[list[str]]:
    lines = _text(folder / name).splitlines()
    return [line.split("$") for line in lines if line.strip()]


def _missing(folder: Path, names: tuple[str, ...]) -> None:
    absent = [name for name in names if not (folder / name).is_file()]
    if absent:
        raise DomainError(f"The folder {folder} lacks {', '.join(absent)}.")


def _mixed(problem: str) -> DomainError:
    return DomainError(f"The files are not one complete release: {problem}.")


def read_meddra(folder: Path, version: str) -> tuple[str, list[Llt]]:
    """The language and the lowest level terms, each with its primary path, of the MedDRA
    release in `folder`, which must be `version`."""
    _missing(folder, MEDDRA_FILES)
    release = _fields(folder, "meddra_release.asc")
    if not release or len(release[0]) < 2:
        raise DomainError("meddra_release.asc does not name a release.")
    found, language = release[0][0].strip(), release[0][1].strip()
    if found != version.strip():
        raise DomainError(f"The files are MedDRA {found}, not the version {version} given.")
    names = {
        level: {row[0]: row[1] for row in _fields(folder, f"{level}.asc")}
        for level in ("pt", "hlt", "hlgt", "soc")
    }
    links = {
        name: {(row[0], row[1]) for row in _fields(folder, f"{name}.asc")}
        for name in ("hlt_pt", "hlgt_hlt", "soc_hlgt")
    }
    primary: dict[str, tuple[str, str, str]] = {}
    for row in _fields(folder, "mdhier.asc"):
        pt, hlt, hlgt, soc = row[0], row[1], row[2], row[3]
        for level, code, name in (
            ("pt", pt, row[4]),
            ("hlt", hlt, row[5]),
            ("hlgt", hlgt, row[6]),
            ("soc", soc, row[7]),
        ):
            if names[level].get(code) != name:
                raise _mixed(
                    f"mdhier.asc names {level.upper()} {code} differently from {level}.asc"
                )
        if (
            (hlt, pt) not in links["hlt_pt"]
            or (hlgt, hlt) not in links["hlgt_hlt"]
            or (soc, hlgt) not in links["soc_hlgt"]
        ):
            raise _mixed(f"the path of PT {pt} in mdhier.asc is not in the link files")
        if len(row) > 11 and row[11] == "Y":
            primary[pt] = (hlt, hlgt, soc)
    terms = []
    for row in _fields(folder, "llt.asc"):
        code, name, pt = row[0], row[1], row[2]
        if pt not in names["pt"]:
            raise _mixed(f"LLT {code} points to PT {pt}, which pt.asc lacks")
        if pt not in primary:
            raise _mixed(f"PT {pt} has no primary path in mdhier.asc")
        hlt, hlgt, soc = primary[pt]
        terms.append(
            Llt(
                llt_code=code,
                llt_name=name,
                current=(row[9] if len(row) > 9 else "Y") != "N",
                pt_code=pt,
                pt_name=names["pt"][pt],
                hlt_code=hlt,
                hlt_name=names["hlt"][hlt],
                hlgt_code=hlgt,
                hlgt_name=names["hlgt"][hlgt],
                soc_code=soc,
                soc_name=names["soc"][soc],
            )
        )
    return language, terms


def read_whodrug(folder: Path) -> list[Drug]:
    """The drug names of the WHODrug B3 files in `folder`, each with its record's preferred
    name (sequence numbers 01 and 001) and the record's first ATC code."""
    _missing(folder, WHODRUG_FILES)
    rows = []
    for number, line in enumerate(_text(folder / "DD.txt").splitlines(), start=1):
        if not line.strip():
            continue
        code = line[DD_RECORD] + line[DD_SEQ1] + line[DD_SEQ2]
        name = line[DD_NAME].strip()
        if len(code) != 11 or not code.isdigit() or not name:
            raise DomainError(f"DD.txt line {number} is not in the B3 layout.")
        rows.append((code, name))
    preferred = {code[:6]: name for code, name in rows if (code[6:8], code[8:]) == PREFERRED}
    atc: dict[str, str] = {}
    codes = {code for code, _name in rows}
    for number, line in enumerate(_text(folder / "DDA.txt").splitlines(), start=1):
        if not line.strip():
            continue
        code = line[DDA_CODE]
        if code not in codes:
            raise _mixed(f"DDA.txt line {number} names drug {code}, which DD.txt lacks")
        atc.setdefault(code[:6], line[DDA_ATC].strip())
    drugs = []
    for code, name in rows:
        if code[:6] not in preferred:
            raise _mixed(f"drug record {code[:6]} has no preferred name in DD.txt")
        drugs.append(
            Drug(
                drug_code=code,
                name=name,
                preferred_name=preferred[code[:6]],
                atc_code=atc.get(code[:6], ""),
            )
        )
    return drugs

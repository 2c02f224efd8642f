"""Value-level metadata of the findings datasets, read from the files an export wrote.

Any dataset with a --TESTCD and a --ORRES variable is a findings dataset here, whatever its
name: its results (--ORRES, --STRESC, --STRESN) are described per test code, and per category
as well where a test code has results in several (WBC in haematology and in urinalysis). Each
value gets the data type its values have (integer, float or text), their longest length, the
units they are given in, their values when a text result takes a handful of them, and whether
the eCRF derived it (--DRVFL "Y" on every record, with the --METHOD it names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["RESULTS", "ValueDef", "ValueList", "ValueScanner", "findings_prefix"]

# The result variables that get value-level metadata, by their suffix.
RESULTS = ("ORRES", "STRESC", "STRESN")
# A text result with at most this many distinct values is declared with a code list of them.
MAX_CODES = 12
INTEGER = re.compile(r"^-?\d+$")
DECIMAL = re.compile(r"^-?\d+\.(\d+)$")


def findings_prefix(names: Iterable[str]) -> str:
    """The two-letter prefix of a findings dataset's variables (LB for LBTESTCD and LBORRES),
    empty for a dataset that has no test code and result."""
    present = set(names)
    for name in present:
        if name.endswith("TESTCD") and f"{name[:-6]}ORRES" in present:
            return name[:-6]
    return ""


@dataclass
class _Seen:
    """What the values of one result variable of one test look like."""

    count: int = 0
    length: int = 1
    integer: bool = True
    numeric: bool = True
    decimals: int = 0
    values: set[str] | None = field(default_factory=set)

    def add(self, value: str) -> None:
        self.count += 1
        self.length = max(self.length, len(value.encode("utf-8")))
        if not INTEGER.match(value):
            self.integer = False
            match = DECIMAL.match(value)
            if match:
                self.decimals = max(self.decimals, len(match[1]))
            else:
                self.numeric = False
        if self.values is not None:
            self.values.add(value)
            if len(self.values) > MAX_CODES:
                self.values = None


@dataclass
class _Test:
    name: str = ""
    records: int = 0
    derived: int = 0
    methods: set[str] = field(default_factory=set)
    original_units: set[str] = field(default_factory=set)
    standard_units: set[str] = field(default_factory=set)
    results: dict[str, _Seen] = field(default_factory=dict)


@dataclass(frozen=True)
class ValueDef:
    """One value of a result variable: where it applies and what it holds."""

    variable: str  # LBORRES
    where: tuple[tuple[str, str], ...]  # (("LBTESTCD", "WBC"), ("LBCAT", "URINALYSIS"))
    test: str  # the --TEST of those records
    data_type: str  # integer, float or text
    length: int
    decimals: int
    codes: tuple[str, ...]
    units: tuple[str, ...]
    derived: bool
    methods: tuple[str, ...]

    @property
    def key(self) -> str:
        """The where clause as an OID part: URINALYSIS.WBC, or WBC alone."""
        return ".".join(_oid_part(value) for _, value in reversed(self.where))

    @property
    def label(self) -> str:
        units = f" ({', '.join(self.units)})" if self.units else ""
        return f"{self.test or self.where[0][1]}{units}"[:200]


@dataclass(frozen=True)
class ValueList:
    """The value-level metadata of one result variable of a dataset."""

    variable: str
    values: tuple[ValueDef, ...]


def _oid_part(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", value).strip("_") or "_"


class ValueScanner:
    """Collects, row by row, what each test's results hold in one findings dataset."""

    def __init__(self, prefix: str, names: Iterable[str]) -> None:
        self.prefix = prefix
        present = set(names)

        def have(suffix: str) -> str:
            name = f"{prefix}{suffix}"
            return name if name in present else ""

        self.testcd = f"{prefix}TESTCD"
        self.test, self.category = have("TEST"), have("CAT")
        self.derived_flag, self.method = have("DRVFL"), have("METHOD")
        self.original_unit, self.standard_unit = have("ORRESU"), have("STRESU")
        self.results = tuple(name for name in (have(suffix) for suffix in RESULTS) if name)
        self.tests: dict[tuple[str, str], _Test] = {}

    @property
    def columns(self) -> tuple[str, ...]:
        """The variables the scanner reads."""
        wanted = (self.testcd, self.test, self.category, self.derived_flag, self.method,
                  self.original_unit, self.standard_unit, *self.results)  # fmt: skip
        return tuple(name for name in wanted if name)

    def add(self, row: Mapping[str, str]) -> None:
        """One record, each variable as the text its file holds ("" when empty)."""
        code = row[self.testcd]
        if not code:
            return
        category = row[self.category] if self.category else ""
        seen = self.tests.get((code, category))
        if seen is None:
            seen = self.tests[(code, category)] = _Test(name=row[self.test] if self.test else "")
        seen.records += 1
        if self.derived_flag and row[self.derived_flag] == "Y":
            seen.derived += 1
        if self.method and row[self.method]:
            seen.methods.add(row[self.method])
        for unit, units in ((self.original_unit, seen.original_units),
                            (self.standard_unit, seen.standard_units)):  # fmt: skip
            if unit and row[unit]:
                units.add(row[unit])
        for name in self.results:
            value = row[name]
            if value != "":
                seen.results.setdefault(name, _Seen()).add(value)

    def value_lists(self) -> list[ValueList]:
        """One value list per result variable with results, its values in test code order."""
        categories: dict[str, int] = {}
        for code, _category in self.tests:
            categories[code] = categories.get(code, 0) + 1
        lists = []
        for name in self.results:
            values = []
            for (code, category), seen in sorted(self.tests.items()):
                result = seen.results.get(name)
                if result is None:
                    continue
                where: tuple[tuple[str, str], ...] = ((self.testcd, code),)
                if categories[code] > 1:
                    where = (*where, (self.category, category))
                values.append(self._value(name, where, seen, result))
            if values:
                lists.append(ValueList(name, tuple(values)))
        return lists

    def _value(
        self, name: str, where: tuple[tuple[str, str], ...], seen: _Test, result: _Seen
    ) -> ValueDef:
        kind = "integer" if result.integer else "float" if result.numeric else "text"
        original = name.endswith("ORRES")
        units = seen.original_units if original else seen.standard_units
        codes = tuple(sorted(result.values)) if kind == "text" and result.values else ()
        return ValueDef(
            variable=name,
            where=where,
            test=seen.name,
            data_type=kind,
            length=result.length,
            decimals=result.decimals if kind == "float" else 0,
            codes=codes,
            units=tuple(sorted(units)),
            derived=seen.derived == seen.records,
            methods=tuple(sorted(seen.methods)),
        )

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["RESULTS", "ValueDef", "ValueList", "ValueScanner", "findings_prefix"]

# The result variables that get value-level metadata, by their suffix.
RESULTS = ("ORRES", "STRESC", "STRESN")
# A text result with at most this many distinct values is declared with a code list of them.
MAX_CODES = 12
KNOWN_MAX = 4096
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
    # Values already looked at: a repeated one changes nothing but the count.
    known: set[str] = field(default_factory=set)

    def add(self, value: str) -> None:
        self.count += 1
        if value in self.known:
            return
        if len(self.known) < KNOWN_MAX:
            self.known.add(value)
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

        wanted = (self.testcd, self.test, self.category, self.derived_flag, self.method,
                  self.original_unit, self.standard_unit, *self.results)  # fmt: skip
        # The variables the scanner reads, in the order `add` takes their values.
        self.columns = tuple(name for name in wanted if name)
        at = {name: index for index, name in enumerate(self.columns)}
        self._test, self._category = at.get(self.test, -1), at.get(self.category, -1)
        self._derived, self._method = at.get(self.derived_flag, -1), at.get(self.method, -1)
        self._units = (at.get(self.original_unit, -1), at.get(self.standard_unit, -1))
        self._results = tuple((name, at[name]) for name in self.results)

    def add(self, values: Sequence[str]) -> None:
        """One record: the values of `columns`, each as the text its file holds ("" when
        empty)."""
        code = values[0]
        if not code:
            return
        category = values[self._category] if self._category >= 0 else ""
        seen = self.tests.get((code, category))
        if seen is None:
            name = values[self._test] if self._test >= 0 else ""
            seen = self.tests[(code, category)] = _Test(name=name)
        seen.records += 1
        if self._derived >= 0 and values[self._derived] == "Y":
            seen.derived += 1
        if self._method >= 0 and values[self._method]:
            seen.methods.add(values[self._method])
        original, standard = self._units
        if original >= 0 and values[original]:
            seen.original_units.add(values[original])
        if standard >= 0 and values[standard]:
            seen.standard_units.add(values[standard])
        for name, index in self._results:
            value = values[index]
            if value != "":
                result = seen.results.get(name)
                if result is None:
                    result = seen.results[name] = _Seen()
                result.add(value)

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

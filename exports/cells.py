"""How CSV and SAS transport store a value: the cell converters every export shares."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from exports.base import Variable

# SAS transport version 5 keeps at most this many bytes of a text.
XPT_CHAR_MAX = 200
# Distinct texts of one variable remembered with their stored form: codes, units, visit names
# and identifiers repeat from row to row. Bounded, so memory stays flat.
TEXT_MEMO = 512

Row = list[Any]
Convert = Callable[[Any], str | float]

_BLANKS = re.compile(r"[\r\n\t\v\f]+")

# What SAS transport files write for characters that do not decompose into ASCII letters and
# accents; any other character that is not ASCII is written "?".
ASCII_FOR = str.maketrans(
    {
        "\N{GREATER-THAN OR EQUAL TO}": ">=",
        "\N{LESS-THAN OR EQUAL TO}": "<=",
        "\N{NOT EQUAL TO}": "!=",
        "\N{PLUS-MINUS SIGN}": "+/-",
        "\N{MULTIPLICATION SIGN}": "x",
        "\N{DIVISION SIGN}": "/",
        "\N{FRACTION SLASH}": "/",
        "\N{MICRO SIGN}": "u",
        "\N{GREEK SMALL LETTER MU}": "u",
        "\N{DEGREE SIGN}": "deg",
        "\N{MASCULINE ORDINAL INDICATOR}": "o",
        "\N{FEMININE ORDINAL INDICATOR}": "a",
        "\N{LATIN SMALL LETTER SHARP S}": "ss",
        "\N{LATIN CAPITAL LETTER AE}": "AE",
        "\N{LATIN SMALL LETTER AE}": "ae",
        "\N{LATIN CAPITAL LIGATURE OE}": "OE",
        "\N{LATIN SMALL LIGATURE OE}": "oe",
        "\N{LATIN CAPITAL LETTER O WITH STROKE}": "O",
        "\N{LATIN SMALL LETTER O WITH STROKE}": "o",
        "\N{LATIN CAPITAL LETTER D WITH STROKE}": "D",
        "\N{LATIN SMALL LETTER D WITH STROKE}": "d",
        "\N{LATIN CAPITAL LETTER L WITH STROKE}": "L",
        "\N{LATIN SMALL LETTER L WITH STROKE}": "l",
        "\N{LATIN SMALL LETTER DOTLESS I}": "i",
        "\N{HYPHEN}": "-",
        "\N{NON-BREAKING HYPHEN}": "-",
        "\N{FIGURE DASH}": "-",
        "\N{EN DASH}": "-",
        "\N{EM DASH}": "-",
        "\N{HORIZONTAL BAR}": "-",
        "\N{MINUS SIGN}": "-",
        "\N{LEFT SINGLE QUOTATION MARK}": "'",
        "\N{RIGHT SINGLE QUOTATION MARK}": "'",
        "\N{SINGLE LOW-9 QUOTATION MARK}": "'",
        "\N{PRIME}": "'",
        "\N{ACUTE ACCENT}": "'",
        "\N{LEFT DOUBLE QUOTATION MARK}": '"',
        "\N{RIGHT DOUBLE QUOTATION MARK}": '"',
        "\N{DOUBLE LOW-9 QUOTATION MARK}": '"',
        "\N{DOUBLE PRIME}": '"',
        "\N{LEFT-POINTING DOUBLE ANGLE QUOTATION MARK}": '"',
        "\N{RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK}": '"',
        "\N{HORIZONTAL ELLIPSIS}": "...",
        "\N{BULLET}": "*",
        "\N{MIDDLE DOT}": ".",
        "\N{EURO SIGN}": "EUR",
        "\N{POUND SIGN}": "GBP",
        "\N{COPYRIGHT SIGN}": "(C)",
        "\N{REGISTERED SIGN}": "(R)",
        "\N{TRADE MARK SIGN}": "(TM)",
        "\N{INVERTED QUESTION MARK}": "?",
        "\N{INVERTED EXCLAMATION MARK}": "!",
    }
)


def ascii_text(text: str) -> str:
    """`text` in ASCII, as SAS transport files hold it: accents dropped (á -> a, Ñ -> N),
    compatibility forms taken apart (½ -> 1/2, a full-width blank -> a blank), the symbols of
    ASCII_FOR written out (≥ -> >=, °C -> degC), anything else "?"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(ASCII_FOR)).translate(ASCII_FOR)
    return "".join(
        char if char.isascii() else ("" if unicodedata.combining(char) else "?")
        for char in decomposed
    )


def converter(variable: Variable) -> Convert:
    """How SAS transport stores a value of `variable`: numbers as float (NaN when missing);
    text in ASCII (`ascii_text`) with line breaks and trailing blanks removed, at most the
    variable's length (and 200) in bytes. Anything else is refused. CSV keeps text in UTF-8
    (`csv_converter`)."""
    return _number_cell(variable) if variable.type == "Num" else _text_cell(variable, ascii=True)


def _number_cell(variable: Variable) -> Callable[[object], float]:
    name = variable.name

    def number_cell(value: object) -> float:
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise TypeError(f"{name}: {value!r} is not a number.")
        return float(value)

    return number_cell


def _text_cell(variable: Variable, *, ascii: bool = False) -> Callable[[object], str]:
    return _text_memo(variable, ascii=ascii)[1]


def _text_memo(
    variable: Variable, *, ascii: bool = False
) -> tuple[dict[object, str], Callable[[object], str]]:
    """A text converter and the memo it fills: the memo holds None as "" and every stored text
    it has met (at most TEXT_MEMO), so a hit is the converted cell."""
    name = variable.name
    limit = min(variable.length, XPT_CHAR_MAX)
    memo: dict[object, str] = {None: ""}

    def stored(value: str) -> str:
        # Printable text holds no line break or tab: most values skip the substitution.
        text = (value if value.isprintable() else _BLANKS.sub(" ", value)).rstrip()
        if ascii:
            text = ascii_text(text).rstrip()
        if text.isascii():
            return text[:limit].rstrip() if len(text) > limit else text
        encoded = text.encode("utf-8")
        if len(encoded) > limit:
            return encoded[:limit].decode("utf-8", errors="ignore").rstrip()
        return text

    def text_cell(value: object) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise TypeError(f"{name}: {value!r} is not text.")
        text = memo.get(value)
        if text is None:
            text = stored(value)
            if len(memo) < TEXT_MEMO:
                memo[value] = text
        return text

    return memo, text_cell


def cell(variable: Variable, value: object) -> str | float:
    return converter(variable)(value)


def _converted(converters: list[Convert], rows: Iterable[tuple[object, ...]]) -> Iterator[Row]:
    width = len(converters)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"A row has {len(row)} values for {width} variables.")
        yield [convert(value) for convert, value in zip(converters, row, strict=True)]


def normalized(
    variables: tuple[Variable, ...], rows: Iterable[tuple[object, ...]]
) -> Iterator[Row]:
    return _converted([converter(variable) for variable in variables], rows)


def number_text(value: float) -> str:
    """A number in CSV: empty when missing, whole numbers without a decimal point."""
    if math.isnan(value):
        return ""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def csv_converter(variable: Variable) -> Convert:
    """A value of `variable` as its CSV cell: the stored value, numbers as `number_text`."""
    if variable.type != "Num":
        return _text_cell(variable)
    convert = _number_cell(variable)

    def number_csv(value: object) -> str:
        if value is None:
            return ""
        if type(value) is int and abs(value) < 10**15:
            return str(value)  # as number_text(float(value)) gives it, without the float
        return number_text(convert(value))

    return number_csv


# Distinct numbers of one variable remembered with their CSV cell (study days, sequence
# numbers, visit numbers and results repeat); bounded, so memory stays flat.
NUMBER_MEMO = 4096


def _number_memo(variable: Variable) -> tuple[dict[object, str], Callable[[object], str]]:
    """The CSV converter of a number variable and the memo it fills, by value, for ints and
    floats only (equal ints and floats have the same cell, and so do 0.0 and -0.0)."""
    convert = csv_converter(variable)
    memo: dict[object, str] = {}

    def number_cell(value: object) -> str:
        text = str(convert(value))
        if (type(value) is int or type(value) is float) and len(memo) < NUMBER_MEMO:
            memo[value] = text
        return text

    return memo, number_cell


def csv_rows(
    variables: tuple[Variable, ...],
    positions: tuple[int, ...],
    masks: tuple[tuple[int, str], ...] = (),
) -> Callable[[Iterable[tuple[object, ...]]], Iterator[Row]]:
    """The CSV cells of rows holding a value of each of `variables`: the values at
    `positions`, in that order, the value of written column i replaced by its mask when
    `masks` gives one (every value but None and ""). The cells are those of `csv_converter`,
    byte for byte; the converters are compiled into one function per dataset, so that a row
    costs one call and a repeated text one dictionary look-up, not a call per cell."""
    width = len(variables)
    masked = dict(masks)
    columns = [
        (position, variables[position], masked.get(index, ""))
        for index, position in enumerate(positions)
    ]
    names: dict[str, object] = {"_width": width, "_type": type, "_int": int, "_float": float}
    cells = []
    for index, (position, variable, mask) in enumerate(columns):
        value = f"v{position}"
        if mask:
            names[f"c{index}"] = csv_converter(variable)
            names[f"k{index}"] = mask
            cells.append(
                f"c{index}(k{index} if {value} is not None and {value} != '' else {value})"
            )
        elif variable.type == "Num":
            memo, convert = _number_memo(variable)
            names[f"g{index}"], names[f"c{index}"] = memo.get, convert
            # Only an int or a float is looked up: True would find the cell of 1.
            known = f"(_type({value}) is _int or _type({value}) is _float)"
            cells.append(
                f"('' if {value} is None else t if {known} and "
                f"(t := g{index}({value})) is not None else c{index}({value}))"
            )
        else:
            memo, convert = _text_memo(variable)
            names[f"g{index}"], names[f"c{index}"] = memo.get, convert
            cells.append(f"(t if (t := g{index}({value})) is not None else c{index}({value}))")
    used = {position for position, _, _ in columns}
    unpacked = ", ".join(f"v{i}" if i in used else "_" for i in range(width))
    defaults = ", ".join(f"{name}={name}" for name in names)
    source = (
        f"def rows_of(rows, {defaults}):\n"
        "    for row in rows:\n"
        "        if len(row) != _width:\n"
        "            raise ValueError(f'A row has {len(row)} values for {_width} variables.')\n"
        f"        {unpacked}{',' if width == 1 else ''} = row\n"
        f"        yield [{', '.join(cells)}]\n"
    )
    namespace: dict[str, Any] = dict(names)
    exec(compile(source, "<csv_rows>", "exec"), namespace)  # noqa: S102 - built from names only
    rows_of: Callable[[Iterable[tuple[object, ...]]], Iterator[Row]] = namespace["rows_of"]
    return rows_of

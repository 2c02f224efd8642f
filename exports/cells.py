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
    name = variable.name
    limit = min(variable.length, XPT_CHAR_MAX)
    memo: dict[str, str] = {}

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

    return text_cell


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

"""A streaming XML writer over XMLGenerator: indented output, attributes in a fixed order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

INDENT = "  "
# Characters XML 1.0 cannot carry even escaped (C0 controls other than tab, LF and CR, lone
# surrogates, U+FFFE/U+FFFF); a value holding one gets U+FFFD in its place.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Attrs = Mapping[str, str | None]


def xml_text(value: str) -> str:
    """`value` with the characters XML cannot hold replaced; escaping is left to the writer."""
    return _NOT_XML.sub("\ufffd", value)


class XmlWriter:
    """Write elements one by one into a binary stream, never holding a tree in memory.

    Attributes are written in the order given and left out when None, so the same calls
    always produce the same bytes. `depth` is the indentation level of the first element,
    for a fragment written apart and copied into a document later.
    """

    def __init__(self, stream: IO[bytes], *, depth: int = 0) -> None:
        self._xml = XMLGenerator(stream, encoding="utf-8", short_empty_elements=True)
        self._depth = depth
        self._first = True
        # For each open element: whether anything was written inside it yet.
        self._children: list[bool] = []

    def declaration(self) -> None:
        self._xml.startDocument()
        self._first = True

    def instruction(self, target: str, data: str) -> None:
        """A processing instruction on its own line, such as the stylesheet of the document."""
        self._newline()
        self._xml.processingInstruction(target, data)

    def _newline(self) -> None:
        if self._children:
            self._children[-1] = True
        if self._first and self._depth == 0:
            self._first = False
            return
        self._first = False
        self._xml.ignorableWhitespace("\n" + INDENT * self._depth)

    def start(self, name: str, attrs: Attrs | None = None) -> None:
        self._newline()
        self._xml.startElement(name, _clean(attrs))
        self._children.append(False)
        self._depth += 1

    def end(self, name: str) -> None:
        self._depth -= 1
        if self._children.pop():
            self._xml.ignorableWhitespace("\n" + INDENT * self._depth)
        self._xml.endElement(name)

    def empty(self, name: str, attrs: Attrs | None = None) -> None:
        """An element without content: <name a="1"/>."""
        self._newline()
        self._xml.startElement(name, _clean(attrs))
        self._xml.endElement(name)

    def leaf(self, name: str, text: str, attrs: Attrs | None = None) -> None:
        """An element holding only text, on one line."""
        self._newline()
        self._xml.startElement(name, _clean(attrs))
        self._xml.characters(xml_text(text))
        self._xml.endElement(name)

    def finish(self) -> None:
        """End the document with a newline, as text files do."""
        self._xml.ignorableWhitespace("\n")
        self._xml.endDocument()


def _clean(attrs: Attrs | None) -> AttributesImpl[str]:
    if not attrs:
        return AttributesImpl({})
    return AttributesImpl(
        {name: xml_text(value) for name, value in attrs.items() if value is not None}
    )

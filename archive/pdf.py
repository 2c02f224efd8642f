"""HTML pages printed to PDF/A with WeasyPrint, the same bytes for the same page and instant."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

# PDF/A-3b: an archival PDF whose look is fixed (fonts embedded, no external resource).
PDF_VARIANT = "pdf/a-3b"
PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "print.css"


def page_html(template: str, context: dict[str, Any], *, zone: str, language: str = "en") -> str:
    """The page on the clock of `zone`, in `language`."""
    with translation.override(language), timezone.override(ZoneInfo(zone)):
        return render_to_string(template, context)


@cache
def _print_setup() -> tuple[Any, Any]:
    """The font configuration and the parsed print stylesheet, made once per process and
    shared by every PDF it prints."""
    from weasyprint import CSS  # loaded when a PDF is printed: Pango is heavy to start
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    return fonts, CSS(filename=str(PRINT_CSS), font_config=fonts)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Run without Python's cyclic garbage collector, then collect once.

    WeasyPrint makes millions of small objects while it lays out a long casebook, and the
    collector kept walking all of them: about a third of the printing time. The cycles a
    printing leaves are freed by the one collection at its end, so memory stays bounded."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def pdf_bytes(html: str, *, identifier: str) -> bytes:
    """Print `html` to PDF/A. The page dates the file (its `dcterms.created` meta) and
    `identifier` names it, so the same page printed twice gives the same bytes."""
    from weasyprint import HTML

    digest = hashlib.sha256(identifier.encode()).hexdigest()[:32].encode()
    fonts, stylesheet = _print_setup()
    with _collector_paused():
        # No base URL: the page may load nothing but the print stylesheet given here.
        document = HTML(string=html, base_url=None)
        return bytes(
            document.write_pdf(
                stylesheets=[stylesheet],
                font_config=fonts,
                pdf_variant=PDF_VARIANT,
                pdf_identifier=digest,
            )
        )


def iso(moment: datetime) -> str:
    """An instant as the PDF's creation date: UTC, to the second."""
    return moment.astimezone(ZoneInfo("UTC")).replace(microsecond=0).isoformat()

"""HTML pages printed to PDF/A with WeasyPrint, the same bytes for the same page and instant."""

from __future__ import annotations

import hashlib
from datetime import datetime
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


def pdf_bytes(html: str, *, identifier: str) -> bytes:
    """Print `html` to PDF/A. The page dates the file (its `dcterms.created` meta) and
    `identifier` names it, so the same page printed twice gives the same bytes."""
    from weasyprint import CSS, HTML  # loaded when a PDF is printed: Pango is heavy to start

    digest = hashlib.sha256(identifier.encode()).hexdigest()[:32].encode()
    # No base URL: the page may load nothing but the print stylesheet given here.
    document = HTML(string=html, base_url=None)
    return bytes(
        document.write_pdf(
            stylesheets=[CSS(filename=str(PRINT_CSS))],
            pdf_variant=PDF_VARIANT,
            pdf_identifier=digest,
        )
    )


def iso(moment: datetime) -> str:
    """An instant as the PDF's creation date: UTC, to the second."""
    return moment.astimezone(ZoneInfo("UTC")).replace(microsecond=0).isoformat()

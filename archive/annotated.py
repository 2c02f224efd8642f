"""The blank annotated CRF printed to PDF/A. The forms and their mapping to the dataset
variables are the exports' (`exports.annotated`), which also write it beside define.xml."""

from __future__ import annotations

from archive.pdf import pdf_bytes
from exports.annotated import AnnotatedCrf, annotated_crf, annotated_crf_html, created_at

__all__ = ["annotated_crf", "annotated_crf_pdf", "annotated_name"]


def annotated_name(crf: AnnotatedCrf) -> str:
    number = crf.version.number if crf.version else 0
    return f"{crf.trial.code}-annotated-crf-v{number}.pdf"


def annotated_crf_pdf(crf: AnnotatedCrf, *, language: str) -> bytes:
    """The annotated CRF printed to PDF/A, dated at the protocol version's loading."""
    html = annotated_crf_html(crf, language=language)
    return pdf_bytes(html, identifier=f"annotated crf {crf.trial.code} {created_at(crf)}")

"""Writes for exports: requesting and running export jobs, download archives."""

from exports.services.archive import Archive, export_archive, export_handover
from exports.services.requests import export_request, parse_as_of
from exports.services.runs import ProgressRecorder, export_run, exports_fail_stale

__all__ = [
    "Archive",
    "ProgressRecorder",
    "export_archive",
    "export_handover",
    "export_request",
    "export_run",
    "exports_fail_stale",
    "parse_as_of",
]

"""Writes for exports: requesting and running export jobs, DSMB releases, download archives."""

from exports.services.archive import Archive, export_archive
from exports.services.releases import dsmb_release_grant, dsmb_release_revoke
from exports.services.requests import export_request, parse_as_of
from exports.services.runs import ProgressRecorder, export_run, exports_fail_stale

__all__ = [
    "Archive",
    "ProgressRecorder",
    "dsmb_release_grant",
    "dsmb_release_revoke",
    "export_archive",
    "export_request",
    "export_run",
    "exports_fail_stale",
    "parse_as_of",
]

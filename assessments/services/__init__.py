"""Writes for case report forms: entering and changing forms, and what a save changes beside."""

from assessments.services.forms import (
    FormPreview,
    form_checks,
    form_not_done,
    form_preview,
    form_save,
)
from assessments.services.renal import renal_responses_recompute

__all__ = [
    "FormPreview",
    "form_checks",
    "form_not_done",
    "form_preview",
    "form_save",
    "renal_responses_recompute",
]

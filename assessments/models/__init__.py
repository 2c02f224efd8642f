"""Clinical form models."""

from assessments.models.base import (
    CaseReportForm,
    EntryStatus,
    LogForm,
    PartialDateField,
    ParticipantForm,
    RepeatingVisitForm,
    VisitForm,
)
from assessments.models.sledai import SledaiAssessment

__all__ = [
    "CaseReportForm",
    "EntryStatus",
    "LogForm",
    "PartialDateField",
    "ParticipantForm",
    "RepeatingVisitForm",
    "SledaiAssessment",
    "VisitForm",
]

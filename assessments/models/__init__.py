"""Clinical form models."""

from assessments.models.base import CaseReportForm, EntryStatus, LogForm, VisitForm
from assessments.models.sledai import SledaiAssessment

__all__ = ["CaseReportForm", "EntryStatus", "LogForm", "SledaiAssessment", "VisitForm"]

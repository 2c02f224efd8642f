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
from assessments.models.conmed import ConcomitantMedication
from assessments.models.deviation import ProtocolDeviation
from assessments.models.end_of_study import EndOfStudy
from assessments.models.infusion import Infusion
from assessments.models.labs import LabResults
from assessments.models.medical_history import MedicalHistory
from assessments.models.pregnancy import PregnancyTest
from assessments.models.renal import RenalAssessment
from assessments.models.sledai import SledaiAssessment
from assessments.models.vitals import VitalSigns

__all__ = [
    "CaseReportForm",
    "ConcomitantMedication",
    "EndOfStudy",
    "EntryStatus",
    "Infusion",
    "LabResults",
    "LogForm",
    "MedicalHistory",
    "PartialDateField",
    "ParticipantForm",
    "PregnancyTest",
    "ProtocolDeviation",
    "RenalAssessment",
    "RepeatingVisitForm",
    "SledaiAssessment",
    "VisitForm",
    "VitalSigns",
]

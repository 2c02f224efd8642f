"""Serializers of the forms API: each form's data and records, and the bodies of its writes."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from rest_framework import serializers

from assessments.forms_kit import AT_A_VISIT, FormType
from assessments.models import (
    ConcomitantMedication,
    EndOfStudy,
    Infusion,
    LabResults,
    MedicalHistory,
    PregnancyTest,
    ProtocolDeviation,
    RenalAssessment,
    SledaiAssessment,
    VitalSigns,
)
from assessments.rules.conmed import CONMED
from assessments.rules.deviation import DEVIATION
from assessments.rules.end_of_study import END_OF_STUDY
from assessments.rules.infusion import INFUSION
from assessments.rules.labs import LABS
from assessments.rules.medical_history import MEDICAL_HISTORY
from assessments.rules.pregnancy import PREGNANCY
from assessments.rules.renal import RENAL
from assessments.rules.sledai import SLEDAI
from assessments.rules.vitals import VITALS
from casebook.grid import FormState
from ecrf.messages import warning_shown
from ecrf.site_time import AmbiguousLocalTime, NonexistentLocalTime, local_instant
from safety.models import AdverseEvent, PregnancyReport
from safety.pregnancy import PREGNANCY_REPORT
from safety.rules import ADVERSE_EVENTS

# What every record carries besides the form's own inputs and derived values.
RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "visit",
    "entry_status",
    "not_done_reason",
    "row_version",
    "warnings",
    "entered_at",
    "updated_at",
)


def record_fields(ftype: FormType) -> tuple[str, ...]:
    return (*RECORD_FIELDS, *ftype.fields, *ftype.derived)


class SiteDateTimeField(serializers.DateTimeField):
    """A date-time with an offset taken as given; without one, a time on the clock of the
    participant's site (the current time zone), refused when the clocks skipped it or showed it
    twice. Answered with the site's offset."""

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            zone = timezone.get_current_timezone_name()
            try:
                value = local_instant(value, zone)
            except AmbiguousLocalTime as twice:
                wall = value.isoformat(timespec="minutes")
                raise serializers.ValidationError(
                    f"{twice.message} Give the time with its offset: {wall}{twice.earlier} for "
                    f"the first, {wall}{twice.later} for the second."
                ) from None
            except NonexistentLocalTime as skipped:
                raise serializers.ValidationError(skipped.message) from None
        return super().enforce_timezone(value)


# Every date-time of a form's data and records is read and written on the site's clock.
SITE_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.DateTimeField: SiteDateTimeField,
}


# The serializers' docstrings would become descriptions in the OpenAPI schema: they are
# comments here, so that the schema says what it always said.


# A model serializer builds each of its fields from the model on every instance, about four
# times as long as copying them: the fields of a form's serializers are built once per class
# and each instance gets its own copy, as DRF copies the fields a serializer declares.
class FieldsBuiltOnce(serializers.ModelSerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built  # type: ignore[attr-defined]
        return copy.deepcopy(built)


# A form's inputs. Each is optional here: which are required is an edit check of the form
# service, answered with the form's other checks.
class FormData(FieldsBuiltOnce):
    serializer_field_mapping = SITE_FIELD_MAPPING

    def get_extra_kwargs(self) -> dict[str, Any]:
        extra = super().get_extra_kwargs()
        for name in self.Meta.fields:
            extra.setdefault(name, {})["required"] = False
        return extra


# A form's record; the view takes out what would unblind the reader.
class FormRecord(FieldsBuiltOnce):
    serializer_field_mapping = SITE_FIELD_MAPPING

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """Each warning as `field`, `message` (English, as kept) and `shown`, the message in the
        reader's language (the user's, or the request's Accept-Language)."""
        data: dict[str, Any] = super().to_representation(instance)
        if isinstance(data.get("warnings"), list):
            data["warnings"] = [
                {"field": w.get("field"), "message": w.get("message"), "shown": warning_shown(w)}
                for w in data["warnings"]
            ]
        return data


class MedicalHistoryData(FormData):
    class Meta:
        model = MedicalHistory
        fields = MEDICAL_HISTORY.fields


class MedicalHistoryRecord(FormRecord):
    class Meta:
        model = MedicalHistory
        fields = record_fields(MEDICAL_HISTORY)


class Sledai2kData(FormData):
    class Meta:
        model = SledaiAssessment
        fields = SLEDAI.fields


class Sledai2kRecord(FormRecord):
    class Meta:
        model = SledaiAssessment
        fields = record_fields(SLEDAI)


class RenalData(FormData):
    class Meta:
        model = RenalAssessment
        fields = RENAL.fields


class RenalRecord(FormRecord):
    class Meta:
        model = RenalAssessment
        fields = record_fields(RENAL)


class LabsData(FormData):
    class Meta:
        model = LabResults
        fields = LABS.fields


class LabsRecord(FormRecord):
    class Meta:
        model = LabResults
        fields = record_fields(LABS)


class VitalsData(FormData):
    class Meta:
        model = VitalSigns
        fields = VITALS.fields


class VitalsRecord(FormRecord):
    class Meta:
        model = VitalSigns
        fields = record_fields(VITALS)


class PregnancyData(FormData):
    class Meta:
        model = PregnancyTest
        fields = PREGNANCY.fields


class PregnancyRecord(FormRecord):
    class Meta:
        model = PregnancyTest
        fields = record_fields(PREGNANCY)


class InfusionData(FormData):
    class Meta:
        model = Infusion
        fields = INFUSION.fields


class InfusionRecord(FormRecord):
    class Meta:
        model = Infusion
        fields = record_fields(INFUSION)


class ConmedData(FormData):
    class Meta:
        model = ConcomitantMedication
        fields = CONMED.fields


class ConmedRecord(FormRecord):
    class Meta:
        model = ConcomitantMedication
        fields = record_fields(CONMED)


class AdverseEventsData(FormData):
    class Meta:
        model = AdverseEvent
        fields = ADVERSE_EVENTS.fields


class AdverseEventsRecord(FormRecord):
    class Meta:
        model = AdverseEvent
        fields = record_fields(ADVERSE_EVENTS)


class DeviationData(FormData):
    class Meta:
        model = ProtocolDeviation
        fields = DEVIATION.fields


class DeviationRecord(FormRecord):
    description_shown = serializers.CharField(
        source="shown_description",
        read_only=True,
        help_text="The description in the reader's language: the user's, or Accept-Language. "
        "`description` keeps it as stored, in English for a drafted one.",
    )

    class Meta:
        model = ProtocolDeviation
        fields = (*record_fields(DEVIATION), "description_shown")


class EndOfStudyData(FormData):
    class Meta:
        model = EndOfStudy
        fields = END_OF_STUDY.fields


class EndOfStudyRecord(FormRecord):
    class Meta:
        model = EndOfStudy
        fields = record_fields(END_OF_STUDY)


class PregnancyReportData(FormData):
    class Meta:
        model = PregnancyReport
        fields = PREGNANCY_REPORT.fields


class PregnancyReportRecord(FormRecord):
    class Meta:
        model = PregnancyReport
        fields = record_fields(PREGNANCY_REPORT)


@dataclass(frozen=True)
class FormSerializers:
    """The serializers of one form: its inputs and its records."""

    data: type[FormData]
    record: type[FormRecord]

    @property
    def name(self) -> str:
        """The form's name in the OpenAPI schema: `{name}Data`, `{name}Record`..."""
        return self.data.__name__.removesuffix("Data")


SERIALIZERS: dict[str, FormSerializers] = {
    MEDICAL_HISTORY.code: FormSerializers(MedicalHistoryData, MedicalHistoryRecord),
    SLEDAI.code: FormSerializers(Sledai2kData, Sledai2kRecord),
    RENAL.code: FormSerializers(RenalData, RenalRecord),
    LABS.code: FormSerializers(LabsData, LabsRecord),
    VITALS.code: FormSerializers(VitalsData, VitalsRecord),
    PREGNANCY.code: FormSerializers(PregnancyData, PregnancyRecord),
    INFUSION.code: FormSerializers(InfusionData, InfusionRecord),
    CONMED.code: FormSerializers(ConmedData, ConmedRecord),
    ADVERSE_EVENTS.code: FormSerializers(AdverseEventsData, AdverseEventsRecord),
    PREGNANCY_REPORT.code: FormSerializers(PregnancyReportData, PregnancyReportRecord),
    DEVIATION.code: FormSerializers(DeviationData, DeviationRecord),
    END_OF_STUDY.code: FormSerializers(EndOfStudyData, EndOfStudyRecord),
}


def serializers_of(ftype: FormType) -> FormSerializers:
    return SERIALIZERS[ftype.code]


# The first entry of a form: the visit it is entered at, and its data.
class FormCreateInput(serializers.Serializer):
    def __init__(self, *args: Any, ftype: FormType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ftype = ftype
        self.fields["visit"] = serializers.IntegerField(
            required=ftype.scope in AT_A_VISIT, help_text="Visit id."
        )
        self.fields["data"] = serializers_of(ftype).data()


# A change of a form's data, based on the version read, with its reason.
class FormChangeInput(serializers.Serializer):
    version = serializers.IntegerField(help_text="The row_version you read; a stale one gets 409.")
    reason = serializers.CharField(help_text="Why the data change.")

    def __init__(self, *args: Any, ftype: FormType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ftype = ftype
        self.fields["data"] = serializers_of(ftype).data()


# That a form expected at a visit was not done, and why.
class FormNotDoneInput(serializers.Serializer):
    visit = serializers.IntegerField()
    reason = serializers.CharField()
    version = serializers.IntegerField(required=False, allow_null=True, default=None)


class CellOutput(serializers.Serializer):
    form = serializers.CharField(source="form_code")
    status = serializers.CharField(
        help_text="Entry: entered, missing, not_done, log, not_collected, or not_due for a "
        "visit whose window has not opened yet."
    )
    state = serializers.ChoiceField(
        choices=FormState.choices,
        help_text="Entry and review together, what a person reads first: locked, query open, "
        "signed, source verified, in progress, complete, not done, not started, not due.",
    )
    record_id = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()


class GridRowOutput(serializers.Serializer):
    visit_id = serializers.IntegerField(source="visit.pk")
    visit = serializers.CharField(source="visit.code")
    name = serializers.CharField(source="visit.name")
    visit_number = serializers.DecimalField(
        source="visit.visit_number", max_digits=6, decimal_places=2
    )
    status = serializers.CharField(source="visit.status")
    target_date = serializers.DateField(source="visit.target_date", allow_null=True)
    actual_date = serializers.DateField(source="visit.actual_date", allow_null=True)
    forms = CellOutput(source="cells", many=True)


class HistoryChangeOutput(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField()
    new = serializers.JSONField()


class HistoryEntryOutput(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.CharField()
    kind = serializers.CharField()
    reason = serializers.CharField()
    changes = HistoryChangeOutput(many=True)

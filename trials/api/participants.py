"""API for participants: one participant, consent, eligibility and lifecycle transitions."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trials.api.base import valid
from trials.models import CriterionKind, Participant, ParticipantStatus
from trials.selectors import (
    eligibility_checklist,
    participant_get,
)
from trials.services import (
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    eligibility_reconfirm,
    participant_complete,
    participant_enrol,
    participant_lost_to_follow_up,
    participant_randomize,
    participant_screen_fail,
    participant_withdraw,
)

# Participants ------------------------------------------------------------------------------


class CohortRefOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    dose_cells_per_kg = serializers.FloatField()


class ParticipantOutput(serializers.Serializer):
    """A participant as every role may see it: never the arm or anything revealing it."""

    id = serializers.IntegerField()
    trial = serializers.CharField(source="trial.code")
    site = serializers.CharField(source="site.code")
    identifier = serializers.CharField()
    screening_number = serializers.CharField()
    subject_id = serializers.CharField(allow_null=True)
    sex = serializers.CharField()
    date_of_birth = serializers.DateField()
    status = serializers.ChoiceField(choices=ParticipantStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    registered_at = serializers.DateTimeField()
    screen_failure_reason = serializers.CharField()
    eligibility_confirmed_at = serializers.DateTimeField(allow_null=True)
    stage_code = serializers.CharField()
    randomization_number = serializers.CharField()
    randomized_at = serializers.DateTimeField(allow_null=True)
    cohort = CohortRefOutput(allow_null=True, help_text="Open-label dose-escalation cohort.")
    day0 = serializers.DateField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()
    unblinded_at = serializers.DateTimeField(allow_null=True)


class ConsentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    form_version = serializers.CharField()
    consent_date = serializers.DateField()
    obtained_by = serializers.CharField(source="obtained_by.display_name")
    recorded_at = serializers.DateTimeField()


class ParticipantDetailOutput(ParticipantOutput):
    consents = ConsentOutput(many=True)


class ParticipantDetailView(APIView):
    @extend_schema(
        responses=ParticipantDetailOutput,
        summary="One participant, with consents (never the arm)",
        tags=["participants"],
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        return Response(ParticipantDetailOutput(participant).data)


class ConsentInput(serializers.Serializer):
    form_version = serializers.CharField(allow_blank=True, max_length=40)
    consent_date = serializers.DateField()


class ConsentView(APIView):
    @extend_schema(
        request=ConsentInput,
        responses={201: ConsentOutput},
        summary="Record informed consent",
        tags=["participants"],
    )
    def post(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        params = valid(ConsentInput, request.data)
        consent = consent_record(
            actor=request.user,
            participant=participant,
            form_version=params["form_version"],
            consent_date=params["consent_date"],
            now=timezone.now(),
        )
        return Response(ConsentOutput(consent).data, status=status.HTTP_201_CREATED)


# Eligibility -------------------------------------------------------------------------------


class ChecklistItemOutput(serializers.Serializer):
    code = serializers.CharField()
    number = serializers.IntegerField(source="criterion.number")
    group = serializers.CharField(source="criterion.group", allow_null=True)
    text = serializers.CharField(source="criterion.text", help_text="The registry text.")
    kind = serializers.ChoiceField(choices=CriterionKind.choices)
    answer = serializers.BooleanField(
        allow_null=True,
        help_text="Inclusion: criterion met. Exclusion: criterion applies. Null: unanswered.",
    )
    comment = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)


class OutcomeOutput(serializers.Serializer):
    complete = serializers.BooleanField()
    eligible = serializers.BooleanField()
    unanswered = serializers.ListField(child=serializers.CharField())
    unmet_inclusions = serializers.ListField(child=serializers.CharField())
    applying_exclusions = serializers.ListField(child=serializers.CharField())
    contradictions = serializers.ListField(
        child=serializers.CharField(),
        help_text="Answers the entered data contradict, as sentences; they block confirmation.",
    )
    unverified = serializers.ListField(
        child=serializers.CharField(),
        help_text="Criteria whose answer has no entered value to check against yet.",
    )
    unverified_notes = serializers.ListField(child=serializers.CharField())


class ChecklistOutput(serializers.Serializer):
    inclusion = ChecklistItemOutput(many=True)
    exclusion = ChecklistItemOutput(many=True)
    outcome = OutcomeOutput()


class AnswerInput(serializers.Serializer):
    criterion_code = serializers.CharField(max_length=10)
    answer = serializers.BooleanField(
        help_text="Inclusion: is the criterion met? Exclusion: does the criterion apply?"
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required to change an answer."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A form-encoded request without `answer` would otherwise read as "No".
        if "answer" not in self.initial_data:
            raise serializers.ValidationError({"answer": ["Answer yes or no."]})
        return attrs


class AnswerOutput(serializers.Serializer):
    criterion = ChecklistItemOutput()
    outcome = OutcomeOutput()


class EligibilityView(APIView):
    @extend_schema(
        responses=ChecklistOutput,
        summary="The eligibility checklist: every criterion with its answer, and the outcome",
        tags=["eligibility"],
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        return Response(ChecklistOutput(eligibility_checklist(participant)).data)

    @extend_schema(
        request=AnswerInput,
        responses=AnswerOutput,
        summary="Answer one criterion (a changed answer needs a reason)",
        tags=["eligibility"],
    )
    def post(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        params = valid(AnswerInput, request.data)
        eligibility_answer(
            actor=request.user, participant=participant, now=timezone.now(), **params
        )
        checklist = eligibility_checklist(participant)
        item = checklist.item(params["criterion_code"])
        return Response(AnswerOutput({"criterion": item, "outcome": checklist.outcome}).data)


# Transitions -------------------------------------------------------------------------------


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class RandomizeInput(serializers.Serializer):
    strata = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="Levels of stratification factors not taken from the site.",
    )


class ParticipantActionView(APIView):
    """Fetch the participant through the scoped selector, then run one service on it."""

    input_class: type[serializers.Serializer] | None = None

    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        raise NotImplementedError

    def post(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        params = valid(self.input_class, request.data) if self.input_class else {}
        changed = self.perform(request, participant, params)
        return Response(ParticipantOutput(changed).data)


def action_schema(summary: str, request: Any = None) -> Any:
    """The schema of a participant action: its input, and the participant as it answers."""
    return extend_schema_view(
        post=extend_schema(
            request=request, responses=ParticipantOutput, summary=summary, tags=["participants"]
        )
    )


class ReconfirmInput(serializers.Serializer):
    criterion_code = serializers.CharField(max_length=10)
    answer = serializers.BooleanField(
        help_text="Inclusion: is the criterion still met? Exclusion: does the criterion apply now?"
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "answer" not in self.initial_data:
            raise serializers.ValidationError({"answer": ["Answer yes or no."]})
        return attrs


@action_schema(
    "Confirm again, on the day of randomization, a criterion the protocol says must hold then",
    ReconfirmInput,
)
class ReconfirmEligibilityView(ParticipantActionView):
    input_class = ReconfirmInput

    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        eligibility_reconfirm(
            actor=request.user,
            participant=participant,
            criterion_code=params["criterion_code"],
            answer=params["answer"],
            comment=params["comment"],
            now=timezone.now(),
        )
        participant.refresh_from_db()
        return participant


@action_schema("Confirm eligibility (investigator; the checklist must show the person eligible)")
class ConfirmEligibilityView(ParticipantActionView):
    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return eligibility_confirm(actor=request.user, participant=participant, now=timezone.now())


@action_schema("Record a screen failure", ReasonInput)
class ScreenFailView(ParticipantActionView):
    input_class = ReasonInput

    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return participant_screen_fail(
            actor=request.user, participant=participant, reason=params["reason"], now=timezone.now()
        )


@action_schema("Randomize (answers only the randomization number, never the arm)", RandomizeInput)
class RandomizeView(ParticipantActionView):
    input_class = RandomizeInput

    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return participant_randomize(
            actor=request.user,
            participant=participant,
            strata_values=params.get("strata") or {},
            now=timezone.now(),
        )


@action_schema("Enrol in the open dose-escalation cohort")
class EnrolView(ParticipantActionView):
    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return participant_enrol(actor=request.user, participant=participant, now=timezone.now())


@action_schema("Withdraw (all data collected so far is kept)", ReasonInput)
class WithdrawView(ParticipantActionView):
    input_class = ReasonInput

    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return participant_withdraw(
            actor=request.user, participant=participant, reason=params["reason"], now=timezone.now()
        )


@action_schema("Record loss to follow-up", ReasonInput)
class LostToFollowUpView(ParticipantActionView):
    input_class = ReasonInput

    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return participant_lost_to_follow_up(
            actor=request.user, participant=participant, reason=params["reason"], now=timezone.now()
        )


@action_schema("Record that the participant completed the study")
class CompleteView(ParticipantActionView):
    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return participant_complete(actor=request.user, participant=participant, now=timezone.now())

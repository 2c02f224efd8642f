"""API for allocation: emergency unblinding, the arm for unblinded roles, list import."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ecrf.errors import DomainError
from trials.api.base import valid
from trials.api.participants import ParticipantOutput, ReasonInput
from trials.selectors import (
    allocation_list_size,
    participant_allocation,
    participant_get,
    trial_get,
)
from trials.services import allocation_import, participant_unblind


class ArmOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class UnblindOutput(serializers.Serializer):
    participant = ParticipantOutput()
    event_id = serializers.IntegerField()
    reason = serializers.CharField()
    arm = ArmOutput(help_text="Shown in this response only; the request is audited.")


class UnblindView(APIView):
    @extend_schema(
        request=ReasonInput,
        responses=UnblindOutput,
        summary="Emergency unblinding by an investigator (audited, notified to the sponsor)",
        tags=["allocation"],
    )
    def post(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        params = valid(ReasonInput, request.data)
        unblinding = participant_unblind(
            actor=request.user, participant=participant, reason=params["reason"], now=timezone.now()
        )
        data = {
            "participant": unblinding.event.participant,
            "event_id": unblinding.event.pk,
            "reason": unblinding.event.reason,
            "arm": {"code": unblinding.arm_code, "name": unblinding.arm_name},
        }
        response = Response(UnblindOutput(data).data)
        response["Cache-Control"] = "no-store"
        return response


class AllocationOutput(serializers.Serializer):
    participant_id = serializers.IntegerField()
    identifier = serializers.CharField()
    randomization_number = serializers.CharField()
    arm = ArmOutput()


class AllocationView(APIView):
    @extend_schema(
        responses=AllocationOutput,
        summary="The participant's arm (pharmacist and unblinded statistician only)",
        tags=["allocation"],
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        allocation = participant_allocation(request.user, participant)
        data = {
            "participant_id": participant.pk,
            "identifier": participant.identifier,
            "randomization_number": participant.randomization_number,
            "arm": {"code": allocation.arm_code, "name": allocation.arm_name},
        }
        response = Response(AllocationOutput(data).data)
        response["Cache-Control"] = "no-store"
        return response


class AllocationImportInput(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV: "
        + ", ".join(
            ["stratum", "sequence", "block_number", "block_size", "arm", "randomization_number"]
        )
    )


class AllocationImportOutput(serializers.Serializer):
    stage_code = serializers.CharField()
    method = serializers.CharField()
    lines = serializers.IntegerField(help_text="Number of concealed lines stored.")
    created_at = serializers.DateTimeField()


class AllocationImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AllocationImportInput},
        responses={201: AllocationImportOutput},
        summary="Import the concealed allocation list (unblinded statistician; arms never echoed)",
        tags=["allocation"],
    )
    def post(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        params = valid(AllocationImportInput, request.data)
        try:
            text = params["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(
                "The file is not UTF-8 text.", fields={"file": ["Not UTF-8."]}
            ) from None
        allocation_list = allocation_import(
            actor=request.user, trial=trial, csv_text=text, now=timezone.now()
        )
        data = {
            "stage_code": allocation_list.stage_code,
            "method": allocation_list.method,
            "lines": allocation_list_size(allocation_list),
            "created_at": allocation_list.created_at,
        }
        return Response(AllocationImportOutput(data).data, status=status.HTTP_201_CREATED)

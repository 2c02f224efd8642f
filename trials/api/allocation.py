"""API for allocation: emergency unblinding, the arm through the gate, arm reads, list import."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ecrf.errors import DomainError
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.api.participants import ParticipantOutput
from trials.blinding import allocation_read_list
from trials.models import ArmGround, ReadChannel
from trials.selectors import allocation_list_size, participant_get, trial_get
from trials.services import allocation_import, allocation_read, participant_unblind


class ArmOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class UnblindOutput(serializers.Serializer):
    participant = ParticipantOutput()
    event_id = serializers.IntegerField()
    reason = serializers.CharField()
    arm = ArmOutput(help_text="Shown in this response only; the request is audited.")


class UnblindInput(serializers.Serializer):
    reason = serializers.CharField(help_text="The medical reason for unblinding.")
    password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, help_text="Your password, again."
    )


class UnblindView(APIView):
    @extend_schema(
        request=UnblindInput,
        responses=UnblindOutput,
        summary="Emergency unblinding by an investigator (password re-entered; audited, "
        "notified to the sponsor)",
        tags=["allocation"],
    )
    def post(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        params = valid(UnblindInput, request.data)
        unblinding = participant_unblind(
            actor=request.user,
            participant=participant,
            reason=params["reason"],
            password=params["password"],
            # The Django request, so that the account lockout counts a wrong password.
            request=request._request,
            channel=ReadChannel.API,
            path=request.path,
            now=timezone.now(),
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
    ground = serializers.ChoiceField(
        choices=ArmGround.choices, help_text="Why you may see it; the read is recorded."
    )


class AllocationView(APIView):
    @extend_schema(
        responses=AllocationOutput,
        summary="The participant's arm, through the blinding gate (every read is recorded)",
        description="Open to a pharmacist at the participant's site; to an unblinded "
        "statistician once the trial is locked or under a DSMB release in force; to an "
        "investigator at the participant's site after its emergency unblinding. Anyone else: "
        "403.",
        tags=["allocation"],
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        read = allocation_read(
            user=request.user,
            participant=participant,
            channel=ReadChannel.API,
            path=request.path,
            now=timezone.now(),
        )
        data = {
            "participant_id": participant.pk,
            "identifier": participant.identifier,
            "randomization_number": participant.randomization_number,
            "arm": {"code": read.allocation.arm_code, "name": read.allocation.arm_name},
            "ground": read.access.ground,
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


class AllocationReadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    participant_id = serializers.IntegerField()
    participant = serializers.CharField(source="participant.identifier")
    username = serializers.CharField(help_text="The reader's username at the time.")
    full_name = serializers.CharField(help_text="The reader's full name at the time.")
    ground = serializers.ChoiceField(choices=ArmGround.choices)
    dsmb_release = serializers.IntegerField(source="dsmb_release_id", allow_null=True)
    channel = serializers.ChoiceField(choices=ReadChannel.choices)
    path = serializers.CharField()


class AllocationReadPageOutput(PageOutput):
    results = AllocationReadOutput(many=True)


class AllocationReadFilterInput(serializers.Serializer):
    participant = serializers.IntegerField(required=False, help_text="Participant id.")
    reader = serializers.CharField(required=False, help_text="The reader's username.")
    ground = serializers.ChoiceField(choices=ArmGround.choices, required=False)


class AllocationReadListView(APIView):
    @extend_schema(
        parameters=[AllocationReadFilterInput, *PAGE_PARAMETERS],
        responses=AllocationReadPageOutput,
        operation_id="allocation_reads_list",
        summary="Every read of a participant's arm in the trial, newest first (trial "
        "administrators and medical monitors)",
        description="Who read which participant's arm, when, on which ground and by which "
        "path. The arms themselves are not listed.",
        tags=["allocation"],
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        filters = valid(AllocationReadFilterInput, request.query_params)
        rows = allocation_read_list(
            request.user,
            trial,
            participant=filters.get("participant"),
            reader=filters.get("reader"),
            ground=filters.get("ground"),
        )
        return page(request, self, rows, AllocationReadOutput)

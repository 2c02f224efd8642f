"""API for case report forms: the casebook grid, and per form type list, read, enter, change,
mark not done and history. Blinded users never receive allocation-revealing fields."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.blinding import revealing_read_record
from assessments.forms_kit import AT_A_VISIT
from assessments.registry import FormType
from assessments.selectors import (
    can_read,
    casebook_grid,
    form_history,
    form_records,
    visible_fields,
)
from assessments.services import form_not_done, form_save
from ecrf.errors import NotFoundError
from trials.selectors import participant_get
from visits.selectors import visit_get


class CellOutput(serializers.Serializer):
    form = serializers.CharField(source="form_code")
    status = serializers.CharField()
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


class CasebookView(APIView):
    @extend_schema(
        responses=GridRowOutput(many=True), summary="Casebook grid: visits x expected forms"
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        rows = casebook_grid(participant, user=request.user)
        return Response(GridRowOutput(rows, many=True).data)


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


def schema_name(ftype: FormType) -> str:
    """The form's name in the OpenAPI schema: `{name}Data`, `{name}Record`, `{name}Create`..."""
    return "".join(part.capitalize() for part in ftype.code.split("_"))


def _serializers(
    ftype: FormType,
) -> tuple[type[serializers.Serializer], type[serializers.Serializer]]:
    """Input and output serializers of one form type, named after it for the OpenAPI schema."""
    name = schema_name(ftype)
    data_class = type(
        f"{name}Data",
        (serializers.ModelSerializer,),
        {
            "Meta": type(
                "Meta",
                (),
                {
                    "model": ftype.model,
                    "fields": list(ftype.fields),
                    "extra_kwargs": {field: {"required": False} for field in ftype.fields},
                },
            )
        },
    )
    output_class = type(
        f"{name}Record",
        (serializers.ModelSerializer,),
        {
            "Meta": type(
                "Meta",
                (),
                {
                    "model": ftype.model,
                    "fields": [
                        "id",
                        "visit",
                        "entry_status",
                        "not_done_reason",
                        "row_version",
                        "warnings",
                        "entered_at",
                        "updated_at",
                        *ftype.fields,
                        *ftype.derived,
                    ],
                },
            )
        },
    )
    return data_class, output_class


def _output(user: Any, ftype: FormType, output_class: Any, instance: Any) -> dict[str, Any]:
    data = output_class(instance).data
    shown = set(visible_fields(user, ftype, instance.participant))
    hidden = (set(ftype.fields) | set(ftype.derived)) - shown
    result = {key: value for key, value in data.items() if key not in hidden}
    result["derivation"] = ftype.explain(instance)
    return result


def _shown(request: Request, ftype: FormType, participant: Any) -> None:
    """This response carries the form's values: record the arm read if they reveal it."""
    revealing_read_record(
        user=request.user,
        participant=participant,
        ftypes=[ftype],
        path=request.path,
        now=timezone.now(),
    )


def _readable_participant(user: Any, ftype: FormType, participant_id: int) -> Any:
    participant = participant_get(user, participant_id)
    if not can_read(user, ftype, participant):
        raise NotFoundError(f"{ftype.label} is not available to your role.")
    return participant


def build_views(ftype: FormType) -> dict[str, type[APIView]]:
    """The list/create, detail/change, not-done and history views of one form type."""
    data_class, output_class = _serializers(ftype)
    name = data_class.__name__[: -len("Data")]
    create_input = type(
        f"{name}Create",
        (serializers.Serializer,),
        {
            "visit": serializers.IntegerField(
                required=ftype.scope in AT_A_VISIT, help_text="Visit id."
            ),
            "data": data_class(),
        },
    )
    change_input = type(
        f"{name}Change",
        (serializers.Serializer,),
        {
            "version": serializers.IntegerField(
                help_text="The row_version you read; a stale one gets 409."
            ),
            "reason": serializers.CharField(help_text="Why the data change."),
            "data": data_class(),
        },
    )
    not_done_input = type(
        f"{name}NotDone",
        (serializers.Serializer,),
        {
            "visit": serializers.IntegerField(),
            "reason": serializers.CharField(),
            "version": serializers.IntegerField(required=False, allow_null=True, default=None),
        },
    )
    tag = [f"forms: {ftype.label}"]

    class ListCreate(APIView):
        @extend_schema(
            tags=tag,
            responses=output_class(many=True),
            summary=f"{ftype.label}: records of a participant",
        )
        def get(self, request: Request, participant_id: int) -> Response:
            participant = _readable_participant(request.user, ftype, participant_id)
            records = [
                _output(request.user, ftype, output_class, r)
                for r in form_records(ftype, participant)
            ]
            if records:
                _shown(request, ftype, participant)
            return Response(records)

        @extend_schema(
            tags=tag,
            request=create_input,
            responses={201: output_class},
            summary=f"{ftype.label}: enter",
        )
        def post(self, request: Request, participant_id: int) -> Response:
            participant = _readable_participant(request.user, ftype, participant_id)
            params = create_input(data=request.data)
            params.is_valid(raise_exception=True)
            visit = (
                visit_get(request.user, params.validated_data["visit"])
                if params.validated_data.get("visit")
                else None
            )
            instance = form_save(
                actor=request.user,
                form_code=ftype.code,
                participant=participant,
                visit=visit,
                data=params.validated_data["data"],
                now=timezone.now(),
            )
            _shown(request, ftype, participant)
            return Response(
                _output(request.user, ftype, output_class, instance), status=status.HTTP_201_CREATED
            )

    class Detail(APIView):
        @extend_schema(tags=tag, responses=output_class, summary=f"{ftype.label}: one record")
        def get(self, request: Request, participant_id: int, record_id: int) -> Response:
            participant = _readable_participant(request.user, ftype, participant_id)
            instance = ftype.model.objects.filter(participant=participant, pk=record_id).first()
            if instance is None:
                raise NotFoundError(f"No such {ftype.label} record.")
            _shown(request, ftype, participant)
            return Response(_output(request.user, ftype, output_class, instance))

        @extend_schema(
            tags=tag,
            request=change_input,
            responses={200: output_class},
            summary=f"{ftype.label}: change (with reason)",
        )
        def put(self, request: Request, participant_id: int, record_id: int) -> Response:
            participant = _readable_participant(request.user, ftype, participant_id)
            instance = ftype.model.objects.filter(participant=participant, pk=record_id).first()
            if instance is None:
                raise NotFoundError(f"No such {ftype.label} record.")
            params = change_input(data=request.data)
            params.is_valid(raise_exception=True)
            saved = form_save(
                actor=request.user,
                form_code=ftype.code,
                participant=participant,
                visit=instance.visit,
                record_id=instance.pk,
                data=params.validated_data["data"],
                expected_version=params.validated_data["version"],
                reason=params.validated_data["reason"],
                now=timezone.now(),
            )
            _shown(request, ftype, participant)
            return Response(_output(request.user, ftype, output_class, saved))

    class NotDone(APIView):
        @extend_schema(
            tags=tag,
            request=not_done_input,
            responses={200: output_class},
            summary=f"{ftype.label}: mark not done",
        )
        def post(self, request: Request, participant_id: int) -> Response:
            participant = _readable_participant(request.user, ftype, participant_id)
            params = not_done_input(data=request.data)
            params.is_valid(raise_exception=True)
            saved = form_not_done(
                actor=request.user,
                form_code=ftype.code,
                participant=participant,
                visit=visit_get(request.user, params.validated_data["visit"]),
                reason=params.validated_data["reason"],
                expected_version=params.validated_data["version"],
                now=timezone.now(),
            )
            _shown(request, ftype, participant)
            return Response(_output(request.user, ftype, output_class, saved))

    class History(APIView):
        @extend_schema(
            tags=tag,
            responses=HistoryEntryOutput(many=True),
            summary=f"{ftype.label}: history (who, when, old -> new, reason)",
            parameters=[OpenApiParameter("record_id", int, OpenApiParameter.PATH)],
        )
        def get(self, request: Request, participant_id: int, record_id: int) -> Response:
            participant = _readable_participant(request.user, ftype, participant_id)
            instance = ftype.model.objects.filter(participant=participant, pk=record_id).first()
            if instance is None:
                raise NotFoundError(f"No such {ftype.label} record.")
            _shown(request, ftype, participant)
            return Response(
                HistoryEntryOutput(form_history(request.user, ftype, instance), many=True).data
            )

    for view in (ListCreate, Detail, NotDone, History):
        view.__name__ = f"{name}{view.__name__}"
        view.__qualname__ = view.__name__
    return {"list": ListCreate, "detail": Detail, "not_done": NotDone, "history": History}

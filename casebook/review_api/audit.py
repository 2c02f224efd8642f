"""API for a participant's audit trail, as JSON and as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.review_api.shared import TAGS
from casebook.review_selectors import audit_trail, audit_trail_csv, audit_value
from casebook.review_services import audit_trail_shown
from trials.api.base import valid
from trials.selectors import participant_get


class AuditFilterInput(serializers.Serializer):
    form = serializers.CharField(
        required=False,
        help_text="Form code, or participant, visit, consent, eligibility.",
    )
    user = serializers.CharField(required=False, help_text="User id, username or full name.")
    since = serializers.DateField(required=False, help_text="First day, at the site.")
    until = serializers.DateField(required=False, help_text="Last day, at the site (included).")


class AuditRowOutput(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.CharField(help_text="The actor's full name at the time of the change.")
    username = serializers.CharField(help_text="The actor's username at the time of the change.")
    form_code = serializers.CharField()
    form = serializers.CharField(source="form_label")
    record_id = serializers.IntegerField()
    visit = serializers.CharField()
    field = serializers.CharField()
    field_label = serializers.CharField()
    old = serializers.JSONField()
    new = serializers.JSONField()
    reason = serializers.CharField()
    kind = serializers.CharField(help_text="created | changed")


def _audit_rows(request: Request, participant_id: int) -> list[Any]:
    participant = participant_get(request.user, participant_id)
    filters = valid(AuditFilterInput, request.query_params)
    rows = audit_trail(
        request.user,
        participant,
        form_code=filters.get("form"),
        user_filter=filters.get("user"),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    audit_trail_shown(
        user=request.user, participant=participant, rows=rows, path=request.path, now=timezone.now()
    )
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return audit_value(value)
    if value is None or isinstance(value, bool | int | float | list | dict):
        return value
    return str(value)


class AuditTrailView(APIView):
    @extend_schema(
        parameters=[AuditFilterInput],
        responses=AuditRowOutput(many=True),
        summary="Every change to a participant's data in time order (blinded for blinded roles)",
        tags=TAGS,
    )
    def get(self, request: Request, participant_id: int) -> Response:
        rows = _audit_rows(request, participant_id)
        data = AuditRowOutput(rows, many=True).data
        for item, row in zip(data, rows, strict=True):
            item["old"], item["new"] = _json_value(row.old), _json_value(row.new)
        return Response(data)


class AuditTrailCsvView(APIView):
    @extend_schema(
        parameters=[AuditFilterInput],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The same rows as CSV, with a header."
            )
        },
        summary="The audit trail as CSV",
        tags=TAGS,
    )
    def get(self, request: Request, participant_id: int) -> HttpResponse:
        rows = _audit_rows(request, participant_id)
        response = HttpResponse(audit_trail_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="audit-trail-{int(participant_id)}.csv"'
        )
        return response

"""API for a participant's audit trail, as JSON and as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.review_api.shared import TAGS
from casebook.review_selectors import audit_trail, audit_trail_csv_lines, audit_value
from casebook.review_services import audit_trail_shown
from ecrf.pagination import Pagination
from trials.api.base import PAGE_PARAMETERS, PageOutput, valid
from trials.models import Participant
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


def _audit_rows(request: Request, participant_id: int) -> tuple[Participant, list[Any]]:
    """The participant and its audit trail as filtered, not yet recorded as shown."""
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
    return participant, rows


def _shown(request: Request, participant: Participant, rows: list[Any]) -> None:
    audit_trail_shown(
        user=request.user, participant=participant, rows=rows, path=request.path, now=timezone.now()
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return audit_value(value)
    if value is None or isinstance(value, bool | int | float | list | dict):
        return value
    return str(value)


class AuditPageOutput(PageOutput):
    results = AuditRowOutput(many=True)


class AuditTrailView(APIView):
    @extend_schema(
        parameters=[AuditFilterInput, *PAGE_PARAMETERS],
        responses=AuditPageOutput,
        summary="Every change to a participant's data in time order (blinded for blinded roles), "
        "a page at a time",
        tags=TAGS,
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant, rows = _audit_rows(request, participant_id)
        paginator = Pagination()
        shown = paginator.paginate_queryset(rows, request, view=self) or []
        # What reveals the arm is recorded as read when it is on the page answered.
        _shown(request, participant, shown)
        data = AuditRowOutput(shown, many=True).data
        for item, row in zip(data, shown, strict=True):
            item["old"], item["new"] = _json_value(row.old), _json_value(row.new)
        return paginator.get_paginated_response(data)


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
    def get(self, request: Request, participant_id: int) -> StreamingHttpResponse:
        participant, rows = _audit_rows(request, participant_id)
        _shown(request, participant, rows)
        # The whole trail, written a line at a time as it is sent.
        response = StreamingHttpResponse(
            audit_trail_csv_lines(rows, timezone.get_current_timezone()),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="audit-trail-{int(participant_id)}.csv"'
        )
        return response

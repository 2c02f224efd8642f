"""API of visit recording: a visit took place on a date, or was not done."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.services.visits import visit_not_done, visit_record
from trials.api.base import valid
from visits.api import VisitOutput
from visits.selectors import scheduled, visit_get


class VisitRecordInput(serializers.Serializer):
    actual_date = serializers.DateField(help_text="Local date of the visit at the site.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required to change the date."
    )


class VisitRecordView(APIView):
    @extend_schema(
        request=VisitRecordInput,
        responses=VisitOutput,
        summary="Record that a visit took place (flagged when outside its window)",
        tags=["visits"],
    )
    def post(self, request: Request, visit_id: int) -> Response:
        visit = visit_get(request.user, visit_id)
        params = valid(VisitRecordInput, request.data)
        recorded = visit_record(actor=request.user, visit=visit, now=timezone.now(), **params)
        return Response(VisitOutput(scheduled(recorded)).data)


class VisitNotDoneInput(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class VisitNotDoneView(APIView):
    @extend_schema(
        request=VisitNotDoneInput,
        responses=VisitOutput,
        summary="Record that a visit was not done, with the reason",
        tags=["visits"],
    )
    def post(self, request: Request, visit_id: int) -> Response:
        visit = visit_get(request.user, visit_id)
        params = valid(VisitNotDoneInput, request.data)
        changed = visit_not_done(
            actor=request.user, visit=visit, reason=params["reason"], now=timezone.now()
        )
        return Response(VisitOutput(scheduled(changed)).data)

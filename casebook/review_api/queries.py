"""API for queries: the list, one query, opening one and its steps."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.catalogue import form_type
from casebook.review_api.shared import TAGS, ParticipantRefOutput, form_label
from casebook.review_selectors import form_record_get, query_get, query_list
from review.models import QueryAction, QueryStatus, ResponseCode
from review.services.queries import (
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_requery,
)
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.site_zone import SiteClockRow

QUERY_STATUSES = " | ".join(QueryStatus.values)


class QueryMessageOutput(serializers.Serializer):
    action = serializers.ChoiceField(choices=QueryAction.choices)
    action_label = serializers.CharField(source="get_action_display")
    actor = serializers.CharField(source="actor.display_name")
    role = serializers.CharField()
    text = serializers.CharField()
    text_shown = serializers.CharField(
        source="shown_text", help_text="The text in the reader's language."
    )
    response_code = serializers.CharField()
    at = serializers.DateTimeField()


class QueryOutput(SiteClockRow):
    zone_source = "site.time_zone"
    id = serializers.IntegerField()
    trial = serializers.CharField(source="trial.code")
    site = serializers.CharField(source="site.code")
    participant = ParticipantRefOutput()
    form_code = serializers.CharField()
    form_label = serializers.SerializerMethodField()
    record_id = serializers.IntegerField(source="object_id", allow_null=True)
    field_name = serializers.CharField(help_text="Empty: the whole form.")  # type: ignore[assignment]
    # Plain text, not an enum: the schema's shared "status" enum name stays with the forms.
    status = serializers.CharField(help_text=QUERY_STATUSES)
    status_label = serializers.CharField(source="get_status_display")
    automatic = serializers.BooleanField(help_text="Raised by an edit check.")
    opened_by = serializers.CharField(source="opened_by.display_name")
    opener_role = serializers.CharField()
    opened_at = serializers.DateTimeField()
    age_days = serializers.SerializerMethodField(help_text="Whole days open (until closed).")
    text = serializers.CharField()
    text_shown = serializers.CharField(
        source="shown_text", help_text="The text in the reader's language."
    )
    response_code = serializers.CharField()
    correction_history_id = serializers.IntegerField(
        allow_null=True, help_text="The history record of the correction, when corrected."
    )
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_form_label(self, query: Any) -> str:
        return form_label(query.form_code)

    def get_age_days(self, query: Any) -> int:
        now = self.context.get("now") or timezone.now()
        return max(((query.closed_at or now) - query.opened_at).days, 0)


class QueryDetailOutput(QueryOutput):
    messages = QueryMessageOutput(many=True)


class QueryPageOutput(PageOutput):
    results = QueryOutput(many=True)


class QueryFilterInput(serializers.Serializer):
    status = serializers.CharField(required=False, help_text=QUERY_STATUSES)

    def validate_status(self, value: str) -> str:
        if value not in QueryStatus.values:
            raise serializers.ValidationError(f"Choose one of: {QUERY_STATUSES}.")
        return value

    trial = serializers.CharField(required=False, help_text="Trial code.")
    site = serializers.CharField(required=False, help_text="Site code.")
    participant = serializers.IntegerField(required=False, help_text="Participant id.")


class QueryOpenInput(serializers.Serializer):
    form_code = serializers.CharField()
    record_id = serializers.IntegerField()
    field_name = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, default="", help_text="Empty: the whole form."
    )
    text = serializers.CharField(help_text="The question to the site.")


class QueryAnswerInput(serializers.Serializer):
    response_code = serializers.ChoiceField(choices=ResponseCode.choices)
    text = serializers.CharField()


class QueryTextInput(serializers.Serializer):
    text = serializers.CharField()


class QueryCloseInput(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")


class QueryListView(APIView):
    @extend_schema(
        parameters=[QueryFilterInput, *PAGE_PARAMETERS],
        responses=QueryPageOutput,
        operation_id="queries_list",
        summary="Queries at the sites I work at, oldest first",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        filters = valid(QueryFilterInput, request.query_params)
        rows = query_list(
            request.user,
            status=filters.get("status"),
            trial=filters.get("trial"),
            site=filters.get("site"),
            participant=filters.get("participant"),
        )
        return page(request, self, rows, QueryOutput)

    @extend_schema(
        request=QueryOpenInput,
        responses={201: QueryDetailOutput},
        summary="Open a query on a field of a form (monitor, data manager, medical monitor)",
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        params = valid(QueryOpenInput, request.data)
        record = form_record_get(request.user, None, params["form_code"], params["record_id"])
        query = query_open(
            actor=request.user,
            ftype=form_type(params["form_code"]),
            record=record,
            field_name=params["field_name"],
            text=params["text"],
            now=timezone.now(),
        )
        return Response(
            QueryDetailOutput(query_get(request.user, query.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class QueryDetailView(APIView):
    @extend_schema(
        responses=QueryDetailOutput,
        operation_id="queries_retrieve",
        summary="One query with its messages",
        tags=TAGS,
    )
    def get(self, request: Request, query_id: int) -> Response:
        return Response(QueryDetailOutput(query_get(request.user, query_id)).data)


class QueryAnswerView(APIView):
    @extend_schema(
        request=QueryAnswerInput,
        responses=QueryDetailOutput,
        summary="Answer an open query (site staff)",
        tags=TAGS,
    )
    def post(self, request: Request, query_id: int) -> Response:
        query = query_get(request.user, query_id)
        params = valid(QueryAnswerInput, request.data)
        query_answer(
            actor=request.user,
            query=query,
            response_code=params["response_code"],
            text=params["text"],
            now=timezone.now(),
        )
        return Response(QueryDetailOutput(query_get(request.user, query_id)).data)


class QueryCloseView(APIView):
    @extend_schema(
        request=QueryCloseInput,
        responses=QueryDetailOutput,
        summary="Close an answered query (the role that opened it)",
        tags=TAGS,
    )
    def post(self, request: Request, query_id: int) -> Response:
        query = query_get(request.user, query_id)
        params = valid(QueryCloseInput, request.data)
        query_close(actor=request.user, query=query, text=params["text"], now=timezone.now())
        return Response(QueryDetailOutput(query_get(request.user, query_id)).data)


class QueryRequeryView(APIView):
    @extend_schema(
        request=QueryTextInput,
        responses=QueryDetailOutput,
        summary="Send an answered query back to the site (the role that opened it)",
        tags=TAGS,
    )
    def post(self, request: Request, query_id: int) -> Response:
        query = query_get(request.user, query_id)
        params = valid(QueryTextInput, request.data)
        query_requery(actor=request.user, query=query, text=params["text"], now=timezone.now())
        return Response(QueryDetailOutput(query_get(request.user, query_id)).data)


class QueryReopenView(APIView):
    @extend_schema(
        request=QueryTextInput,
        responses=QueryDetailOutput,
        summary="Re-open a closed query (monitor, data manager)",
        tags=TAGS,
    )
    def post(self, request: Request, query_id: int) -> Response:
        query = query_get(request.user, query_id)
        params = valid(QueryTextInput, request.data)
        query_reopen(actor=request.user, query=query, text=params["text"], now=timezone.now())
        return Response(QueryDetailOutput(query_get(request.user, query_id)).data)

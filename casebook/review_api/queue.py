"""API for the review queue of a trial."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.review_api.shared import TAGS, ParticipantRefOutput
from casebook.review_selectors import QUEUE_SECTIONS, ReviewQueue, review_queue
from ecrf.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageInput, Pagination
from trials.api.base import PAGE_PARAMETERS, PageOutput, valid
from trials.selectors import trial_get
from trials.site_zone import SiteClockRow


class QueueFilterInput(serializers.Serializer):
    site = serializers.CharField(required=False, help_text="Site code.")
    participant = serializers.IntegerField(required=False, help_text="Participant id.")


class QueueFormOutput(SiteClockRow):
    zone_source = "time_zone"
    form_code = serializers.CharField()
    form_label = serializers.CharField()
    record_id = serializers.IntegerField()
    participant_id = serializers.IntegerField()
    participant = serializers.CharField(help_text="Subject or screening number.")
    site = serializers.CharField()
    visit = serializers.CharField()
    row_version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class QueueQueryOutput(SiteClockRow):
    zone_source = "query.site.time_zone"
    id = serializers.IntegerField(source="query.pk")
    participant = ParticipantRefOutput(source="query.participant")
    site = serializers.CharField(source="query.site.code")
    form_code = serializers.CharField(source="query.form_code")
    form_label = serializers.CharField()
    record_id = serializers.IntegerField(source="query.object_id", allow_null=True)
    field_name = serializers.CharField(source="query.field_name")  # type: ignore[assignment]
    status = serializers.CharField(source="query.status")
    opener_role = serializers.CharField(source="query.opener_role")
    opened_at = serializers.DateTimeField(source="query.opened_at")
    age_days = serializers.IntegerField()
    text = serializers.CharField(source="query.text")
    text_shown = serializers.CharField(
        source="query.shown_text",
        help_text="The text in the reader's language (an automatic query's is translated).",
    )
    response_code = serializers.CharField(source="query.response_code")


class QueueVisitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    participant = ParticipantRefOutput()
    site = serializers.CharField(source="participant.site.code")
    code = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    target_date = serializers.DateField(allow_null=True)
    actual_date = serializers.DateField(allow_null=True)


class QueueCountsOutput(serializers.Serializer):
    to_verify = serializers.IntegerField(help_text="Entered forms without current SDV.")
    open_queries = serializers.IntegerField()
    answered_queries = serializers.IntegerField(help_text="Answered, awaiting close.")
    unsigned_visits = serializers.IntegerField(help_text="Completed without a visit signature.")
    overdue_visits = serializers.IntegerField()
    missed_visits = serializers.IntegerField()


_FIRST_ROWS = (
    "The first rows of the list, oldest first (`limit`: {default} unless given, at most "
    "{most}); the count says how many there are, and `{path}` pages through them all."
)


def _first_rows(serializer: type[serializers.Serializer], path: str) -> serializers.Serializer:
    return serializer(
        many=True,
        help_text=_FIRST_ROWS.format(default=DEFAULT_PAGE_SIZE, most=MAX_PAGE_SIZE, path=path),
    )


class QueueOutput(serializers.Serializer):
    trial = serializers.CharField(source="trial.code")
    counts = QueueCountsOutput()
    open_queries_by_age = serializers.DictField(
        source="open_by_age", child=serializers.IntegerField(), help_text="Days open: count."
    )
    to_verify = _first_rows(QueueFormOutput, "review-queue/to-verify/")
    open_queries = _first_rows(QueueQueryOutput, "review-queue/open-queries/")
    answered_queries = _first_rows(QueueQueryOutput, "review-queue/answered-queries/")
    unsigned_visits = _first_rows(QueueVisitOutput, "review-queue/unsigned-visits/")
    overdue_visits = _first_rows(QueueVisitOutput, "review-queue/overdue-visits/")
    missed_visits = _first_rows(QueueVisitOutput, "review-queue/missed-visits/")


class QueueFirstInput(PageInput):
    """`limit`: the rows of each list."""

    offset = None  # type: ignore[assignment]


def _queue(request: Request, code: str) -> ReviewQueue:
    trial = trial_get(request.user, code)
    filters = valid(QueueFilterInput, request.query_params)
    return review_queue(
        request.user,
        trial=trial,
        site=filters.get("site"),
        participant=filters.get("participant"),
    )


class ReviewQueueView(APIView):
    @extend_schema(
        parameters=[QueueFilterInput, QueueFirstInput],
        responses=QueueOutput,
        summary="What is left to review in a trial at my sites, with counts and the first rows "
        "of each list",
        tags=TAGS,
    )
    def get(self, request: Request, code: str) -> Response:
        queue = _queue(request, code)
        limit = min(
            valid(QueueFirstInput, request.query_params).get("limit", DEFAULT_PAGE_SIZE),
            MAX_PAGE_SIZE,
        )
        data = {
            "trial": queue.trial,
            "counts": queue.counts,
            "open_by_age": queue.open_by_age,
            **{name: queue.shown(name, queue.section(name)[:limit]) for name in QUEUE_SECTIONS},
        }
        return Response(QueueOutput(data).data)


class QueueFormPageOutput(PageOutput):
    results = QueueFormOutput(many=True)


class QueueQueryPageOutput(PageOutput):
    results = QueueQueryOutput(many=True)


class QueueVisitPageOutput(PageOutput):
    results = QueueVisitOutput(many=True)


class QueueListView(APIView):
    """One list of the review queue, a page at a time; `section` is set by the route."""

    section = ""

    def get(self, request: Request, code: str) -> Response:
        queue = _queue(request, code)
        paginator = Pagination()
        rows = paginator.paginate_queryset(queue.section(self.section), request, view=self)
        output = QUEUE_OUTPUTS[self.section]
        return paginator.get_paginated_response(
            output(queue.shown(self.section, rows or []), many=True).data
        )


def _list_schema(page_output: type[serializers.Serializer], summary: str) -> Any:
    return extend_schema(
        parameters=[QueueFilterInput, *PAGE_PARAMETERS],
        responses=page_output,
        summary=summary,
        tags=TAGS,
    )


class QueueFormsView(QueueListView):
    @_list_schema(QueueFormPageOutput, "Forms entered and not verified, oldest change first")
    def get(self, request: Request, code: str) -> Response:
        return super().get(request, code)


class QueueQueriesView(QueueListView):
    @_list_schema(QueueQueryPageOutput, "Open or answered queries, oldest first")
    def get(self, request: Request, code: str) -> Response:
        return super().get(request, code)


class QueueVisitsView(QueueListView):
    @_list_schema(QueueVisitPageOutput, "Visits to sign, overdue or missed, by participant")
    def get(self, request: Request, code: str) -> Response:
        return super().get(request, code)


QUEUE_OUTPUTS: dict[str, type[serializers.Serializer]] = {
    "to_verify": QueueFormOutput,
    "open_queries": QueueQueryOutput,
    "answered_queries": QueueQueryOutput,
    "unsigned_visits": QueueVisitOutput,
    "overdue_visits": QueueVisitOutput,
    "missed_visits": QueueVisitOutput,
}
# The route of each list, below the queue's: (path, view, list).
QUEUE_LIST_ROUTES: tuple[tuple[str, type[QueueListView], str], ...] = (
    ("to-verify", QueueFormsView, "to_verify"),
    ("open-queries", QueueQueriesView, "open_queries"),
    ("answered-queries", QueueQueriesView, "answered_queries"),
    ("unsigned-visits", QueueVisitsView, "unsigned_visits"),
    ("overdue-visits", QueueVisitsView, "overdue_visits"),
    ("missed-visits", QueueVisitsView, "missed_visits"),
)

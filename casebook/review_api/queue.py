"""API for the review queue of a trial."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.review_api.shared import TAGS, ParticipantRefOutput
from casebook.review_selectors import review_queue
from trials.api.base import valid
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


class QueueOutput(serializers.Serializer):
    trial = serializers.CharField(source="trial.code")
    counts = QueueCountsOutput()
    open_queries_by_age = serializers.DictField(
        source="open_by_age", child=serializers.IntegerField(), help_text="Days open: count."
    )
    to_verify = QueueFormOutput(many=True)
    open_queries = QueueQueryOutput(many=True)
    answered_queries = QueueQueryOutput(many=True)
    unsigned_visits = QueueVisitOutput(many=True)
    overdue_visits = QueueVisitOutput(many=True)
    missed_visits = QueueVisitOutput(many=True)


class ReviewQueueView(APIView):
    @extend_schema(
        parameters=[QueueFilterInput],
        responses=QueueOutput,
        summary="What is left to review in a trial at my sites, with counts",
        tags=TAGS,
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        filters = valid(QueueFilterInput, request.query_params)
        queue = review_queue(
            request.user,
            trial=trial,
            site=filters.get("site"),
            participant=filters.get("participant"),
        )
        return Response(QueueOutput(queue).data)

"""API for alerts: the alerts of my sites, one alert, and acknowledging it."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import AlertKind, AlertStatus
from alerts.selectors import alert_get, alert_list
from alerts.services import alert_acknowledge
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.site_zone import SiteClockRow


class AlertParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()


class AlertVisitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class AlertOutput(SiteClockRow):
    zone_source = "site.time_zone"
    id = serializers.IntegerField()
    trial = serializers.CharField(source="trial.code")
    site = serializers.CharField(source="site.code")
    participant = AlertParticipantOutput()
    visit = AlertVisitOutput(allow_null=True)
    adverse_event = serializers.IntegerField(
        source="adverse_event_id", allow_null=True, help_text="The adverse event, for SAE/SUSAR."
    )
    pregnancy_report = serializers.IntegerField(
        source="pregnancy_report_id",
        allow_null=True,
        help_text="The pregnancy report, for a late report or an outcome to follow up.",
    )
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    occurred_at = serializers.DateTimeField(help_text="When the deadline passed.")
    created_at = serializers.DateTimeField()
    message = serializers.CharField(help_text="In English, as kept.")
    message_shown = serializers.CharField(
        source="shown_message",
        help_text="The message in the reader's language: the user's, or Accept-Language.",
    )
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.display_name", allow_null=True, default=None
    )
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField(help_text="In English, as kept.")
    resolution_shown = serializers.CharField(
        source="shown_resolution", help_text="The resolution in the reader's language."
    )
    can_acknowledge = serializers.BooleanField(
        help_text="Open, and my role at its site acknowledges alerts of this kind."
    )


class AlertPageOutput(PageOutput):
    results = AlertOutput(many=True)


class AlertFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=AlertKind.choices, required=False)
    trial = serializers.CharField(required=False, help_text="Trial code.")
    site = serializers.CharField(required=False, help_text="Site code.")


class AlertListView(APIView):
    @extend_schema(
        parameters=[AlertFilterInput, *PAGE_PARAMETERS],
        responses=AlertPageOutput,
        operation_id="alerts_list",
        summary="Alerts of the trials and sites I work at, newest deadline first",
        tags=["alerts"],
    )
    def get(self, request: Request) -> Response:
        filters = valid(AlertFilterInput, request.query_params)
        rows = alert_list(
            request.user,
            trial=filters.get("trial"),
            site=filters.get("site"),
            status=filters.get("status"),
            kind=filters.get("kind"),
        )
        return page(request, self, rows, AlertOutput)


class AlertDetailView(APIView):
    @extend_schema(
        responses=AlertOutput,
        operation_id="alerts_retrieve",
        summary="One alert",
        tags=["alerts"],
    )
    def get(self, request: Request, alert_id: int) -> Response:
        return Response(AlertOutput(alert_get(request.user, alert_id)).data)


class AlertAcknowledgeView(APIView):
    @extend_schema(
        request=None,
        responses=AlertOutput,
        summary="Acknowledge an open alert (site staff; SUSAR alerts: the medical monitor)",
        tags=["alerts"],
    )
    def post(self, request: Request, alert_id: int) -> Response:
        alert = alert_get(request.user, alert_id)
        alert_acknowledge(actor=request.user, alert=alert, now=timezone.now())
        return Response(AlertOutput(alert_get(request.user, alert_id)).data)

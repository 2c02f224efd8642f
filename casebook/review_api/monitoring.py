"""API for monitors: the dashboard of the sites they monitor in a trial."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.monitoring.dashboard import monitor_dashboard
from casebook.monitoring.scope import monitored_sites, site_chosen
from casebook.review_api.shared import TAGS
from trials.api.base import valid
from trials.selectors import trial_get


class MonitoringFilterInput(serializers.Serializer):
    site = serializers.CharField(required=False, help_text="One site's code; all mine if none.")


class WeekOutput(serializers.Serializer):
    start = serializers.DateField(help_text="The Monday the week begins, site time.")
    opened = serializers.IntegerField(help_text="Queries opened.")
    closed = serializers.IntegerField(help_text="Queries closed.")
    verified = serializers.IntegerField(help_text="Forms verified.")


class DeviationCountOutput(serializers.Serializer):
    category = serializers.CharField()
    category_label = serializers.CharField()
    count = serializers.IntegerField(help_text="Not dismissed.")


class SiteDashboardOutput(serializers.Serializer):
    site = serializers.CharField(source="site.code")
    site_name = serializers.CharField(source="site.name")
    time_zone = serializers.CharField(source="site.time_zone")
    open_queries_by_age = serializers.SerializerMethodField(help_text="Days open: count.")
    answered_queries = serializers.IntegerField(source="answered")
    to_verify = serializers.IntegerField(help_text="Entered forms without current SDV.")
    forms_missing = serializers.IntegerField(help_text="Forms with no record at visits done.")
    visits_to_sign = serializers.IntegerField()
    deviations_to_confirm = serializers.IntegerField()
    deviations_by_category = serializers.SerializerMethodField()
    weeks = WeekOutput(many=True)

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_open_queries_by_age(self, row: Any) -> dict[str, int]:
        return {band: n for band, _label, n in row.open_by_age}

    @extend_schema_field(DeviationCountOutput(many=True))
    def get_deviations_by_category(self, row: Any) -> list[dict[str, Any]]:
        return [
            {"category": code, "category_label": str(label), "count": n}
            for code, label, n in row.deviations_by_category
        ]


class MonitoringView(APIView):
    @extend_schema(
        parameters=[MonitoringFilterInput],
        responses=SiteDashboardOutput(many=True),
        summary="The monitoring dashboard: per site I monitor, the work left and the last "
        "eight weeks",
        tags=TAGS,
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        chosen = valid(MonitoringFilterInput, request.query_params).get("site", "")
        sites = monitored_sites(request.user, trial)
        shown = [site_chosen(sites, chosen)] if chosen else sites
        rows = monitor_dashboard(trial, shown, now=timezone.now())
        return Response(SiteDashboardOutput(rows, many=True).data)

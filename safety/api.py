"""API for the SAE and SUSAR reporting clocks of a trial, and for recording that a report was
made. Times are answered on the clock of each event's site, with its offset; the zone is named
on each row and, when every row shown is of one zone, in the `X-Time-Zone` header, as the forms
API does. A time sent without an offset is read on the site's clock; one with an offset is
taken as given."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.rules.base import local_time_problem
from ecrf.errors import DomainError
from ecrf.site_time import LocalTimeError, local_instant
from safety.rules import ClockState
from safety.selectors import adverse_event_get, sae_clock_events, sae_clock_rows
from safety.services import sae_mark_reported, susar_followup_mark_reported, susar_mark_reported
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.selectors import trial_get
from trials.site_zone import TIME_ZONE_HEADER, SiteClockRow

CLOCK_STATES = [(state.value, state.value) for state in ClockState]
TIME_ZONE_PARAMETER = OpenApiParameter(
    TIME_ZONE_HEADER,
    str,
    OpenApiParameter.HEADER,
    response=True,
    description=(
        "The IANA time zone the times are shown in, e.g. Europe/Madrid: the site's, when every "
        "row is of one zone (each row names its own in `time_zone`)."
    ),
)


class ClockParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()


class SaeClockOutput(SiteClockRow):
    """One serious adverse event and where its reporting clocks stand (no allocation), on the
    clock of its site."""

    zone_source = "ae.participant.site.time_zone"
    adverse_event = serializers.IntegerField(source="ae.pk")
    participant = ClockParticipantOutput(source="ae.participant")
    site = serializers.CharField()
    verbatim_term = serializers.CharField(source="ae.verbatim_term")
    onset_date = serializers.CharField(
        source="ae.onset_date", allow_blank=True, help_text="YYYY, YYYY-MM or YYYY-MM-DD."
    )
    site_awareness_at = serializers.DateTimeField(source="ae.site_awareness_at")
    sae_due_at = serializers.DateTimeField(allow_null=True)
    sae_reported_at = serializers.DateTimeField(source="ae.sae_reported_at", allow_null=True)
    sae_state = serializers.ChoiceField(choices=CLOCK_STATES)
    susar = serializers.BooleanField()
    sponsor_awareness_at = serializers.DateTimeField(
        source="ae.sponsor_awareness_at", allow_null=True
    )
    sponsor_fatal_awareness_at = serializers.DateTimeField(
        source="ae.sponsor_fatal_awareness_at",
        allow_null=True,
        help_text="When the sponsor first knew the event was fatal or life-threatening, if "
        "later than its first knowledge.",
    )
    susar_due_at = serializers.DateTimeField(allow_null=True)
    susar_reported_at = serializers.DateTimeField(source="ae.susar_reported_at", allow_null=True)
    susar_state = serializers.ChoiceField(
        choices=CLOCK_STATES, allow_null=True, help_text="Null when the event is not a SUSAR."
    )
    susar_followup_due_at = serializers.DateTimeField(
        allow_null=True,
        help_text="A fatal or life-threatening SUSAR's follow-up report: initial report + 8 days.",
    )
    susar_followup_reported_at = serializers.DateTimeField(
        source="ae.susar_followup_reported_at", allow_null=True
    )
    susar_followup_state = serializers.ChoiceField(
        choices=CLOCK_STATES, allow_null=True, help_text="Null when no follow-up report is due."
    )
    pending = serializers.BooleanField(help_text="A report is still to be made.")


class SaeClockPageOutput(PageOutput):
    results = SaeClockOutput(many=True)


class SaeClockFilterInput(serializers.Serializer):
    pending = serializers.BooleanField(
        required=False, default=False, help_text="Only events with a report still to be made."
    )


def _one_zone(response: Response, zones: set[str]) -> Response:
    if len(zones) == 1:
        response[TIME_ZONE_HEADER] = zones.pop()
    return response


class SaeClockView(APIView):
    @extend_schema(
        parameters=[SaeClockFilterInput, *PAGE_PARAMETERS, TIME_ZONE_PARAMETER],
        responses=SaeClockPageOutput,
        operation_id="trials_sae_clock_list",
        summary="SAE and SUSAR reporting clocks with due dates and states, most urgent first",
        tags=["safety"],
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        filters = valid(SaeClockFilterInput, request.query_params)
        now = timezone.now()
        events = sae_clock_events(request.user, trial, now, pending_only=filters["pending"])
        response = page(
            request, self, events, SaeClockOutput, shown=lambda rows: sae_clock_rows(rows, now)
        )
        shown = response.data.get("results", []) if isinstance(response.data, dict) else []
        return _one_zone(response, {row["time_zone"] for row in shown})


REPORTS = {
    "sae": sae_mark_reported,
    "susar": susar_mark_reported,
    "susar_followup": susar_followup_mark_reported,
}


class ReportInput(serializers.Serializer):
    report = serializers.ChoiceField(
        choices=[
            ("sae", "SAE report reached the sponsor (site staff)"),
            ("susar", "SUSAR expedited report submitted (medical monitor)"),
            ("susar_followup", "SUSAR follow-up report submitted (medical monitor)"),
        ]
    )
    reported_at = serializers.CharField(
        help_text="ISO 8601 date-time; without an offset it is read on the site's clock."
    )


def site_instant(text: str, time_zone: str, field: str) -> datetime:
    """A date-time sent to the API: as given when it has an offset, else on the site's clock
    (refused when the clocks skipped it or showed it twice)."""
    try:
        parsed = parse_datetime(text.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        message = gettext("Give a date and a time.")
        raise DomainError(message, fields={field: [message]})
    if timezone.is_aware(parsed):
        return parsed
    try:
        return local_instant(parsed, time_zone).astimezone(ZoneInfo(time_zone))
    except LocalTimeError as error:
        problem = local_time_problem(error)
        raise DomainError(problem, fields={field: [problem]}) from None


class ReportView(APIView):
    @extend_schema(
        request=ReportInput,
        responses=SaeClockOutput,
        parameters=[TIME_ZONE_PARAMETER],
        operation_id="adverse_event_report_record",
        summary="Record when an SAE, SUSAR or SUSAR follow-up report was made",
        tags=["safety"],
    )
    def post(self, request: Request, adverse_event_id: int) -> Response:
        ae = adverse_event_get(request.user, adverse_event_id)
        params = valid(ReportInput, request.data)
        zone = ae.participant.site.time_zone
        at = site_instant(params["reported_at"], zone, "reported_at")
        now = timezone.now()
        saved = REPORTS[params["report"]](actor=request.user, ae=ae, reported_at=at, now=now)
        (row,) = sae_clock_rows(
            sae_clock_events(request.user, saved.participant.trial, now).filter(
                pk=adverse_event_id
            ),
            now,
        )
        # The route names the adverse event, so the site's zone is current and named in the
        # answer's header (casebook.site_clock).
        return Response(SaeClockOutput(row).data)

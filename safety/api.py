"""API for the SAE and SUSAR reporting clocks of a trial."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safety.rules import ClockState
from safety.selectors import sae_clock
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.selectors import trial_get

CLOCK_STATES = [(state.value, state.value) for state in ClockState]


class ClockParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()


class SaeClockOutput(serializers.Serializer):
    """One serious adverse event and where its reporting clocks stand (no allocation)."""

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
    susar_due_at = serializers.DateTimeField(allow_null=True)
    susar_reported_at = serializers.DateTimeField(source="ae.susar_reported_at", allow_null=True)
    susar_state = serializers.ChoiceField(
        choices=CLOCK_STATES, allow_null=True, help_text="Null when the event is not a SUSAR."
    )
    pending = serializers.BooleanField(help_text="A report is still to be made.")


class SaeClockPageOutput(PageOutput):
    results = SaeClockOutput(many=True)


class SaeClockFilterInput(serializers.Serializer):
    pending = serializers.BooleanField(
        required=False, default=False, help_text="Only events with a report still to be made."
    )


class SaeClockView(APIView):
    @extend_schema(
        parameters=[SaeClockFilterInput, *PAGE_PARAMETERS],
        responses=SaeClockPageOutput,
        operation_id="trials_sae_clock_list",
        summary="SAE and SUSAR reporting clocks with due dates and states, most urgent first",
        tags=["safety"],
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        filters = valid(SaeClockFilterInput, request.query_params)
        rows = sae_clock(request.user, trial, timezone.now(), pending_only=filters["pending"])
        return page(request, self, rows, SaeClockOutput)

"""API for participants with their visits: list, registration, Day 0, schedule, unscheduled."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ecrf.errors import DomainError
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.api.participants import ParticipantActionView, ParticipantOutput, action_schema
from trials.models import Participant, ParticipantStatus, Sex
from trials.selectors import participant_get, trial_get, trial_sites
from visits.models import VisitStatus
from visits.selectors import participant_list, scheduled, visit_get, visit_schedule
from visits.services import (
    participant_register,
    participant_set_day0,
    visit_add_unscheduled,
)

# Participants ------------------------------------------------------------------------------


class ParticipantListOutput(ParticipantOutput):
    overdue_visits = serializers.IntegerField(help_text="Visits past their target date.")
    missed_visits = serializers.IntegerField(help_text="Visits whose window closed undone.")


class ParticipantPageOutput(PageOutput):
    results = ParticipantListOutput(many=True)


class ParticipantFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=ParticipantStatus.choices, required=False)
    site = serializers.CharField(required=False, help_text="Site code.")


class RegisterInput(serializers.Serializer):
    site = serializers.CharField(help_text="Code of the site registering the participant.")
    sex = serializers.ChoiceField(choices=Sex.choices)
    date_of_birth = serializers.DateField()


class ParticipantListView(APIView):
    @extend_schema(
        parameters=[ParticipantFilterInput, *PAGE_PARAMETERS],
        responses=ParticipantPageOutput,
        operation_id="trials_participants_list",
        summary="Participants of a trial at the sites I work at",
        tags=["participants"],
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        filters = valid(ParticipantFilterInput, request.query_params)
        rows = participant_list(
            request.user, trial, status=filters.get("status"), site=filters.get("site")
        )
        return page(request, self, rows, ParticipantListOutput)

    @extend_schema(
        request=RegisterInput,
        responses={201: ParticipantOutput},
        summary="Register a person at screening (gives the next screening number of the site)",
        tags=["participants"],
    )
    def post(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        params = valid(RegisterInput, request.data)
        site = trial_sites(trial).filter(code=params["site"]).first()
        if site is None:
            raise DomainError(
                f"{trial.code} has no site {params['site']}.", fields={"site": ["Unknown site."]}
            )
        participant = participant_register(
            actor=request.user,
            site=site,
            sex=params["sex"],
            date_of_birth=params["date_of_birth"],
            now=timezone.now(),
        )
        return Response(ParticipantOutput(participant).data, status=status.HTTP_201_CREATED)


class Day0Input(serializers.Serializer):
    day0 = serializers.DateField(help_text="Date of the first infusion at the site.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required to move Day 0."
    )


@action_schema(
    "Set Day 0 (first infusion) and create the visit schedule; again to move it", Day0Input
)
class Day0View(ParticipantActionView):
    input_class = Day0Input

    def perform(
        self, request: Request, participant: Participant, params: dict[str, Any]
    ) -> Participant:
        return participant_set_day0(
            actor=request.user,
            participant=participant,
            day0=params["day0"],
            reason=params["reason"],
            now=timezone.now(),
        )


# Visits ------------------------------------------------------------------------------------


class VisitOutput(serializers.Serializer):
    """A visit with its window, both as stored instants and as local dates at the site."""

    id = serializers.IntegerField(source="visit.pk")
    participant = serializers.IntegerField(source="visit.participant_id")
    code = serializers.CharField(source="visit.code")
    name = serializers.CharField(source="visit.name")
    kind = serializers.CharField(source="visit.kind")
    visit_number = serializers.DecimalField(
        source="visit.visit_number", max_digits=6, decimal_places=2, help_text="SDTM VISITNUM."
    )
    day = serializers.IntegerField(source="visit.day", allow_null=True)
    target_date = serializers.DateField(source="visit.target_date", allow_null=True)
    window_from = serializers.DateField(
        allow_null=True, help_text="First day of the window, local date at the site."
    )
    window_to = serializers.DateField(
        allow_null=True, help_text="Last day of the window, local date at the site."
    )
    window_opens_at = serializers.DateTimeField(source="visit.window_opens_at", allow_null=True)
    window_closes_at = serializers.DateTimeField(
        source="visit.window_closes_at", allow_null=True, help_text="Exclusive."
    )
    status = serializers.ChoiceField(source="visit.status", choices=VisitStatus.choices)
    actual_date = serializers.DateField(source="visit.actual_date", allow_null=True)
    out_of_window = serializers.BooleanField(source="visit.out_of_window")
    dosing = serializers.BooleanField(source="visit.dosing")
    optional = serializers.BooleanField(source="visit.optional")
    forms = serializers.ListField(source="visit.forms", child=serializers.CharField())
    parent_id = serializers.IntegerField(
        source="visit.parent_id", allow_null=True, help_text="The visit an unscheduled one follows."
    )
    reason = serializers.CharField(source="visit.reason")


class ParticipantVisitsView(APIView):
    @extend_schema(
        responses=VisitOutput(many=True),
        summary="The participant's visit schedule with windows",
        tags=["visits"],
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        # A schedule is bounded by the protocol (a dozen visits or so): no pagination.
        return Response(VisitOutput(visit_schedule(request.user, participant), many=True).data)


class UnscheduledInput(serializers.Serializer):
    actual_date = serializers.DateField()
    reason = serializers.CharField(allow_blank=True)
    forms = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Form codes."
    )


class VisitUnscheduledView(APIView):
    @extend_schema(
        request=UnscheduledInput,
        responses={201: VisitOutput},
        summary="Add an unscheduled visit after this visit (numbered 3.01, 3.02, ...)",
        tags=["visits"],
    )
    def post(self, request: Request, visit_id: int) -> Response:
        parent = visit_get(request.user, visit_id)
        params = valid(UnscheduledInput, request.data)
        added = visit_add_unscheduled(
            actor=request.user, parent=parent, now=timezone.now(), **params
        )
        return Response(VisitOutput(scheduled(added)).data, status=status.HTTP_201_CREATED)

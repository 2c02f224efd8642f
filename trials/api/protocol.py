"""API for a trial's protocol summary, its dose-escalation cohorts and their safety reviews."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.definitions import current_version
from trials.models import Cohort, SafetyDecision
from trials.selectors import (
    cohort_get,
    cohort_list,
    trial_get,
    trial_list,
    trial_protocol,
    trial_sites,
)
from trials.services import (
    safety_review_record,
)

# Trials ------------------------------------------------------------------------------------


class TrialOutput(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    short_title = serializers.CharField()
    nct = serializers.CharField()
    version_number = serializers.IntegerField(
        allow_null=True, help_text="Number of the current protocol version."
    )


class TrialPageOutput(PageOutput):
    results = TrialOutput(many=True)


class TrialListView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses=TrialPageOutput,
        operation_id="trials_list",
        summary="Trials I hold a role in",
        tags=["trials"],
    )
    def get(self, request: Request) -> Response:
        return page(request, self, trial_list(request.user), TrialOutput)


class SiteOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()
    time_zone = serializers.CharField()


class VersionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # the protocol's own label
    loaded_at = serializers.DateTimeField()


class CohortDefinitionOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    dose_cells_per_kg = serializers.FloatField()
    planned_n = serializers.IntegerField()


class StageOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    blinded = serializers.BooleanField()
    planned_n = serializers.IntegerField(allow_null=True)
    cohorts = CohortDefinitionOutput(many=True)


class VisitDefinitionOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    day = serializers.IntegerField(help_text="Protocol day; Day 0 is the first infusion.")
    window_before = serializers.IntegerField(help_text="Days allowed before `day`.")
    window_after = serializers.IntegerField(help_text="Days allowed after `day`.")
    earliest_day = serializers.IntegerField()
    latest_day = serializers.IntegerField()
    dosing = serializers.BooleanField()
    optional = serializers.BooleanField()
    forms = serializers.ListField(child=serializers.CharField())


class CriterionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    code = serializers.CharField()
    text = serializers.CharField(help_text="The registry text, verbatim.")
    group = serializers.CharField(allow_null=True)


class EligibilityOutput(serializers.Serializer):
    min_age_years = serializers.IntegerField(allow_null=True)
    max_age_years = serializers.IntegerField(allow_null=True)
    inclusion = CriterionOutput(many=True)
    exclusion = CriterionOutput(many=True)


class TrialDetailOutput(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    short_title = serializers.CharField()
    nct = serializers.CharField()
    version = VersionOutput()
    sites = SiteOutput(many=True)
    arms = serializers.ListField(
        child=serializers.CharField(), help_text="Arm names only; no allocation."
    )
    stages = StageOutput(many=True)
    visits = VisitDefinitionOutput(many=True)
    eligibility = EligibilityOutput()


class TrialDetailView(APIView):
    @extend_schema(
        responses=TrialDetailOutput,
        summary="Protocol summary: version, sites, arm names, stages, visits, criteria",
        tags=["trials"],
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        definition = trial_protocol(trial)
        data = {
            "code": trial.code,
            "title": trial.title,
            "short_title": trial.short_title,
            "nct": trial.nct,
            "version": current_version(trial.pk),
            "sites": trial_sites(trial),
            "arms": [arm.name for arm in definition.arms],
            "stages": definition.stages,
            "visits": definition.visits,
            "eligibility": definition.eligibility,
        }
        return Response(TrialDetailOutput(data).data)


# Cohorts -----------------------------------------------------------------------------------


class SafetyReviewOutput(serializers.Serializer):
    id = serializers.IntegerField()
    cohort = serializers.CharField(source="cohort.code")
    decision = serializers.ChoiceField(choices=SafetyDecision.choices)
    rationale = serializers.CharField()
    expand_by = serializers.IntegerField()
    decided_at = serializers.DateTimeField()


class DoseLimitingToxicityOutput(serializers.Serializer):
    adverse_event = serializers.IntegerField(source="pk")
    participant = serializers.CharField(source="participant.subject_id")
    verbatim_term = serializers.CharField()
    onset_date = serializers.CharField()
    ctcae_grade = serializers.IntegerField()
    investigator_causality = serializers.CharField()


class CohortOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    stage_code = serializers.CharField()
    dose_cells_per_kg = serializers.FloatField()
    planned_n = serializers.IntegerField()
    order = serializers.IntegerField()
    status = serializers.CharField()
    enrolled = serializers.IntegerField()
    safety_reviews = SafetyReviewOutput(many=True)
    dlt_count = serializers.SerializerMethodField(
        help_text="Adverse events of the cohort's participants that meet the stage's "
        "dose-limiting toxicity definition, over every site."
    )
    dlts = serializers.SerializerMethodField(
        help_text="Those dose-limiting toxicities at the reader's sites."
    )

    def _dlts(self, cohort: Cohort) -> Any:
        # Read once per cohort for both fields.
        cache: dict[int, Any] = self.context["dlts"]
        if cohort.pk not in cache:
            summary = import_string(settings.COHORT_DLT_SUMMARY)
            cache[cohort.pk] = summary(self.context["request"].user, cohort)
        return cache[cohort.pk]

    @extend_schema_field(serializers.IntegerField())
    def get_dlt_count(self, cohort: Cohort) -> int:
        return int(self._dlts(cohort).count)

    @extend_schema_field(DoseLimitingToxicityOutput(many=True))
    def get_dlts(self, cohort: Cohort) -> Any:
        return DoseLimitingToxicityOutput(self._dlts(cohort).events, many=True).data


class CohortListView(APIView):
    @extend_schema(
        responses=CohortOutput(many=True),
        summary="Dose-escalation cohorts with enrolment and safety reviews",
        tags=["cohorts"],
    )
    def get(self, request: Request, code: str) -> Response:
        trial = trial_get(request.user, code)
        # A trial has a handful of cohorts fixed by its protocol: no pagination.
        cohorts = cohort_list(request.user, trial)
        return Response(
            CohortOutput(cohorts, many=True, context={"request": request, "dlts": {}}).data
        )


class SafetyReviewInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SafetyDecision.choices)
    rationale = serializers.CharField(allow_blank=True)
    expand_by = serializers.IntegerField(min_value=0, required=False, default=0)


class SafetyReviewView(APIView):
    @extend_schema(
        request=SafetyReviewInput,
        responses={201: SafetyReviewOutput},
        summary="Record the safety review of a full cohort (medical monitor)",
        tags=["cohorts"],
    )
    def post(self, request: Request, cohort_id: int) -> Response:
        cohort = cohort_get(request.user, cohort_id)
        params = valid(SafetyReviewInput, request.data)
        review = safety_review_record(
            actor=request.user, cohort=cohort, now=timezone.now(), **params
        )
        return Response(SafetyReviewOutput(review).data, status=status.HTTP_201_CREATED)

"""API for locks: listing, applying and releasing them."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.review_api.shared import TAGS, ParticipantRefOutput
from casebook.review_selectors import form_record_get, lock_get, lock_list
from ecrf.errors import DomainError, NotFoundError
from review.models import LockLevel
from review.services.locks import lock_apply, lock_release
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.selectors import participant_get, trial_get
from trials.site_zone import SiteClockRow


class LockOutput(SiteClockRow):
    zone_source = "site.time_zone"
    id = serializers.IntegerField()
    level = serializers.ChoiceField(choices=LockLevel.choices)
    level_label = serializers.CharField(source="get_level_display")
    trial = serializers.CharField(source="trial.code")
    site = serializers.CharField(source="site.code", allow_null=True, default=None)
    participant = ParticipantRefOutput(allow_null=True)
    form_code = serializers.CharField()
    record_id = serializers.IntegerField(source="object_id", allow_null=True)
    locked_by = serializers.CharField(source="locked_by.display_name")
    locked_at = serializers.DateTimeField()
    reason = serializers.CharField()
    active = serializers.SerializerMethodField()
    unlocked_by = serializers.CharField(
        source="unlocked_by.display_name", allow_null=True, default=None
    )
    unlocked_at = serializers.DateTimeField(allow_null=True)
    unlock_reason = serializers.CharField()

    def get_active(self, lock: Any) -> bool:
        return lock.unlocked_at is None


class LockPageOutput(PageOutput):
    results = LockOutput(many=True)


class LockFilterInput(serializers.Serializer):
    trial = serializers.CharField(required=False, help_text="Trial code.")
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class LockInput(serializers.Serializer):
    level = serializers.ChoiceField(choices=LockLevel.choices)
    trial = serializers.CharField(help_text="Trial code.")
    site = serializers.CharField(required=False, allow_blank=True, default="", help_text="Code.")
    participant = serializers.IntegerField(required=False, allow_null=True, default=None)
    form_code = serializers.CharField(required=False, allow_blank=True, default="")
    record_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    reason = serializers.CharField()


class LockReleaseInput(serializers.Serializer):
    reason = serializers.CharField()


class LockListView(APIView):
    @extend_schema(
        parameters=[LockFilterInput, *PAGE_PARAMETERS],
        responses=LockPageOutput,
        operation_id="locks_list",
        summary="Locks of the trials and sites I work at, newest first",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        filters = valid(LockFilterInput, request.query_params)
        rows = lock_list(request.user, trial=filters.get("trial"), active=filters.get("active"))
        return page(request, self, rows, LockOutput)

    @extend_schema(
        request=LockInput,
        responses={201: LockOutput},
        summary="Lock a form, a participant, a site or the trial (data manager)",
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        params = valid(LockInput, request.data)
        trial = trial_get(request.user, params["trial"])
        site = participant = record = None
        if params["site"]:
            site = trial.sites.filter(code=params["site"]).first()
            if site is None:
                raise NotFoundError("No such site in this trial.")
        if params["participant"]:
            participant = participant_get(request.user, params["participant"])
        if params["level"] == LockLevel.FORM:
            if not (params["form_code"] and params["record_id"] and participant is not None):
                raise DomainError("Name the form: participant, form_code and record_id.")
            record = form_record_get(
                request.user, participant.pk, params["form_code"], params["record_id"]
            )
        lock = lock_apply(
            actor=request.user,
            level=params["level"],
            trial=trial,
            reason=params["reason"],
            now=timezone.now(),
            site=site,
            participant=participant,
            form_code=params["form_code"],
            record=record,
        )
        return Response(
            LockOutput(lock_get(request.user, lock.pk)).data, status=status.HTTP_201_CREATED
        )


class LockReleaseView(APIView):
    @extend_schema(
        request=LockReleaseInput,
        responses=LockOutput,
        summary="Release a lock, with the reason (data manager)",
        tags=TAGS,
    )
    def post(self, request: Request, lock_id: int) -> Response:
        lock = lock_get(request.user, lock_id)
        params = valid(LockReleaseInput, request.data)
        lock_release(actor=request.user, lock=lock, reason=params["reason"], now=timezone.now())
        return Response(LockOutput(lock_get(request.user, lock_id)).data)

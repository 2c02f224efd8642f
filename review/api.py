"""API for review: queries, SDV, e-signatures, locks, the review queue and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.catalogue import form_types
from ecrf.errors import DomainError, NotFoundError
from review.models import (
    LockLevel,
    QueryAction,
    QueryStatus,
    ResponseCode,
    SignatureScope,
)
from review.selectors import (
    audit_trail,
    audit_trail_csv,
    form_record_get,
    lock_get,
    lock_list,
    query_get,
    query_list,
    review_queue,
)
from review.services import (
    audit_trail_shown,
    lock_apply,
    lock_release,
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_requery,
    sdv_verify,
    signature_sign,
)
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.selectors import participant_get, trial_get
from visits.selectors import visit_get

TAGS = ["review"]
QUERY_STATUSES = " | ".join(QueryStatus.values)


def _form_label(code: str) -> str:
    ftype = form_types().get(code)
    return ftype.label if ftype is not None else code


# Queries ------------------------------------------------------------------------------------


class ParticipantRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()


class QueryMessageOutput(serializers.Serializer):
    action = serializers.ChoiceField(choices=QueryAction.choices)
    action_label = serializers.CharField(source="get_action_display")
    actor = serializers.CharField(source="actor.display_name")
    role = serializers.CharField()
    text = serializers.CharField()
    response_code = serializers.CharField()
    at = serializers.DateTimeField()


class QueryOutput(serializers.Serializer):
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
    response_code = serializers.CharField()
    correction_history_id = serializers.IntegerField(
        allow_null=True, help_text="The history record of the correction, when corrected."
    )
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_form_label(self, query: Any) -> str:
        return _form_label(query.form_code)

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
            form_code=params["form_code"],
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


# Source data verification -------------------------------------------------------------------


class SourceVerificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    form_code = serializers.CharField()
    record_id = serializers.IntegerField(source="object_id")
    verified_by = serializers.CharField(source="verified_by.display_name")
    verified_at = serializers.DateTimeField()
    row_version = serializers.IntegerField(help_text="The version of the form verified.")


class SourceVerifyView(APIView):
    @extend_schema(
        request=None,
        responses={201: SourceVerificationOutput},
        summary="Record source data verification of a form (monitor)",
        tags=TAGS,
    )
    def post(self, request: Request, participant_id: int, code: str, record_id: int) -> Response:
        record = form_record_get(request.user, participant_id, code, record_id)
        verification = sdv_verify(
            actor=request.user, form_code=code, record=record, now=timezone.now()
        )
        return Response(SourceVerificationOutput(verification).data, status=status.HTTP_201_CREATED)


# E-signatures -------------------------------------------------------------------------------


class SignatureInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=SignatureScope.choices)
    password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, help_text="Your password, again."
    )
    form_code = serializers.CharField(required=False, allow_blank=True, default="")
    record_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    visit = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["scope"] == SignatureScope.FORM and not (
            attrs["form_code"] and attrs["record_id"]
        ):
            raise serializers.ValidationError("Name the form: form_code and record_id.")
        if attrs["scope"] == SignatureScope.VISIT and not attrs["visit"]:
            raise serializers.ValidationError("Name the visit.")
        return attrs


class SignatureOutput(serializers.Serializer):
    id = serializers.IntegerField()
    scope = serializers.ChoiceField(choices=SignatureScope.choices)
    form_code = serializers.CharField()
    record_id = serializers.IntegerField(source="object_id", allow_null=True)
    visit = serializers.IntegerField(source="visit_id", allow_null=True)
    signer = serializers.CharField(source="printed_name")
    meaning = serializers.CharField()
    signed_at = serializers.DateTimeField()


class SignatureView(APIView):
    @extend_schema(
        request=SignatureInput,
        responses={201: SignatureOutput},
        summary="Sign a form, a visit or the casebook (investigator; password re-entered)",
        tags=TAGS,
    )
    def post(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        params = valid(SignatureInput, request.data)
        record = visit = None
        if params["scope"] == SignatureScope.FORM:
            record = form_record_get(
                request.user, participant.pk, params["form_code"], params["record_id"]
            )
        elif params["scope"] == SignatureScope.VISIT:
            visit = visit_get(request.user, params["visit"])
        signature = signature_sign(
            actor=request.user,
            # The Django request, so that the account lockout counts a wrong password.
            request=request._request,
            password=params["password"],
            participant=participant,
            scope=params["scope"],
            form_code=params["form_code"] if record is not None else "",
            record=record,
            visit=visit,
            now=timezone.now(),
        )
        return Response(SignatureOutput(signature).data, status=status.HTTP_201_CREATED)


# Locks --------------------------------------------------------------------------------------


class LockOutput(serializers.Serializer):
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


# Review queue -------------------------------------------------------------------------------


class QueueFilterInput(serializers.Serializer):
    site = serializers.CharField(required=False, help_text="Site code.")
    participant = serializers.IntegerField(required=False, help_text="Participant id.")


class QueueFormOutput(serializers.Serializer):
    form_code = serializers.CharField()
    form_label = serializers.CharField()
    record_id = serializers.IntegerField()
    participant_id = serializers.IntegerField()
    participant = serializers.CharField(help_text="Subject or screening number.")
    site = serializers.CharField()
    visit = serializers.CharField()
    row_version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class QueueQueryOutput(serializers.Serializer):
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


# Audit trail --------------------------------------------------------------------------------


class AuditFilterInput(serializers.Serializer):
    form = serializers.CharField(
        required=False,
        help_text="Form code, or participant, visit, consent, eligibility.",
    )
    user = serializers.CharField(required=False, help_text="User id, username or full name.")
    since = serializers.DateField(required=False, help_text="First day, at the site.")
    until = serializers.DateField(required=False, help_text="Last day, at the site (included).")


class AuditRowOutput(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.CharField(help_text="The actor's full name at the time of the change.")
    username = serializers.CharField(help_text="The actor's username at the time of the change.")
    form_code = serializers.CharField()
    form = serializers.CharField(source="form_label")
    record_id = serializers.IntegerField()
    visit = serializers.CharField()
    field = serializers.CharField()
    field_label = serializers.CharField()
    old = serializers.JSONField()
    new = serializers.JSONField()
    reason = serializers.CharField()
    kind = serializers.CharField(help_text="created | changed")


def _audit_rows(request: Request, participant_id: int) -> list[Any]:
    participant = participant_get(request.user, participant_id)
    filters = valid(AuditFilterInput, request.query_params)
    rows = audit_trail(
        request.user,
        participant,
        form_code=filters.get("form"),
        user_filter=filters.get("user"),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    audit_trail_shown(
        user=request.user, participant=participant, rows=rows, path=request.path, now=timezone.now()
    )
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | list | dict):
        return value
    return str(value)


class AuditTrailView(APIView):
    @extend_schema(
        parameters=[AuditFilterInput],
        responses=AuditRowOutput(many=True),
        summary="Every change to a participant's data in time order (blinded for blinded roles)",
        tags=TAGS,
    )
    def get(self, request: Request, participant_id: int) -> Response:
        rows = _audit_rows(request, participant_id)
        data = AuditRowOutput(rows, many=True).data
        for item, row in zip(data, rows, strict=True):
            item["old"], item["new"] = _json_value(row.old), _json_value(row.new)
        return Response(data)


class AuditTrailCsvView(APIView):
    @extend_schema(
        parameters=[AuditFilterInput],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The same rows as CSV, with a header."
            )
        },
        summary="The audit trail as CSV",
        tags=TAGS,
    )
    def get(self, request: Request, participant_id: int) -> HttpResponse:
        rows = _audit_rows(request, participant_id)
        response = HttpResponse(audit_trail_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="audit-trail-{int(participant_id)}.csv"'
        )
        return response

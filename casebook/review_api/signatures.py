"""API for e-signatures of a form, a visit or a casebook."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.review_api.shared import TAGS, ParticipantRefOutput
from casebook.review_selectors import form_record_get
from casebook.review_selectors.signing import visits_due, visits_to_sign_get, visits_to_sign_shown
from review.models import SignatureScope
from review.services.signatures import signature_sign, signature_sign_visits
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.selectors import participant_get
from trials.site_zone import SiteClockRow
from visits.selectors import visit_get


class SignatureInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=SignatureScope.choices)
    password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, help_text="Your password, again."
    )
    form_code = serializers.CharField(required=False, allow_blank=True, default="")
    record_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    visit = serializers.IntegerField(required=False, allow_null=True, default=None)
    acknowledged = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Sign although forms are missing, queries open or forms not source-verified "
        "(refused with code 'outstanding', naming them, without it).",
    )

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
            acknowledged=params["acknowledged"],
            now=timezone.now(),
        )
        return Response(SignatureOutput(signature).data, status=status.HTTP_201_CREATED)


class VisitSignaturesInput(serializers.Serializer):
    visits = serializers.ListField(
        child=serializers.IntegerField(),
        allow_empty=False,
        max_length=500,
        help_text="The visits to sign: completed visits awaiting your signature.",
    )
    password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False, help_text="Your password, again."
    )
    acknowledged = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Sign although forms are missing, queries open or forms not source-verified "
        "(refused with code 'outstanding', naming each, without it).",
    )


class VisitsDueInput(serializers.Serializer):
    trial = serializers.CharField(required=False, help_text="Trial code.")
    site = serializers.CharField(required=False, help_text="Site code.")
    participant = serializers.IntegerField(required=False, help_text="Participant id.")


class OutstandingOutput(serializers.Serializer):
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Forms the visit collects that are not entered."
    )
    queries = serializers.ListField(
        child=serializers.CharField(), help_text="Open or answered queries on the visit's forms."
    )
    unverified = serializers.ListField(
        child=serializers.CharField(),
        help_text="Entered forms the SDV plan asks to verify that are not verified.",
    )


class VoidedSignatureOutput(serializers.Serializer):
    signer = serializers.CharField(source="printed_name")
    signed_at = serializers.DateTimeField()
    voided_at = serializers.DateTimeField()
    void_reason = serializers.CharField()


class VisitDueOutput(SiteClockRow):
    zone_source = "visit.participant.site.time_zone"
    id = serializers.IntegerField(source="visit.pk", help_text="The visit, as `visits` to sign.")
    participant = ParticipantRefOutput(source="visit.participant")
    trial = serializers.CharField(source="visit.participant.trial.code")
    site = serializers.CharField(source="visit.participant.site.code")
    code = serializers.CharField(source="visit.code")
    name = serializers.CharField(source="visit.name")
    actual_date = serializers.DateField(
        source="visit.actual_date", help_text="The day the visit was done, at the site."
    )
    to_sign_again = serializers.BooleanField(
        help_text="A change to its data voided the visit's signature."
    )
    voided_signature = VoidedSignatureOutput(
        source="voided",
        allow_null=True,
        help_text="The last visit signature a change voided; its times on the site's clock.",
    )
    outstanding = OutstandingOutput(
        help_text="What signing now would cover that is outstanding, as the signing page shows."
    )


class VisitDuePageOutput(PageOutput):
    results = VisitDueOutput(many=True)


class VisitSignaturesView(APIView):
    @extend_schema(
        parameters=[VisitsDueInput, *PAGE_PARAMETERS],
        responses=VisitDuePageOutput,
        summary="Visits awaiting my signature at my sites (investigator): completed visits "
        "without a visit signature, those a change voided first, with what each has "
        "outstanding",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        filters = valid(VisitsDueInput, request.query_params)
        visits = visits_due(
            request.user,
            trial=filters.get("trial"),
            site=filters.get("site"),
            participant=filters.get("participant"),
        )
        return page(request, self, visits, VisitDueOutput, shown=visits_to_sign_shown)

    @extend_schema(
        request=VisitSignaturesInput,
        responses={201: SignatureOutput(many=True)},
        summary="Sign several visits with one password entry (investigator): one signature "
        "per visit, all or none",
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        params = valid(VisitSignaturesInput, request.data)
        visits = visits_to_sign_get(request.user, list(dict.fromkeys(params["visits"])))
        signatures = signature_sign_visits(
            actor=request.user,
            # The Django request, so that the account lockout counts a wrong password.
            request=request._request,
            password=params["password"],
            visits=visits,
            acknowledged=params["acknowledged"],
            now=timezone.now(),
        )
        return Response(SignatureOutput(signatures, many=True).data, status=status.HTTP_201_CREATED)

"""API for source data verification of a form."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casebook.catalogue import form_type
from casebook.review_api.shared import TAGS
from casebook.review_selectors import form_record_get
from review.services.sdv import sdv_verify
from trials.api.base import valid


class SourceVerificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    form_code = serializers.CharField()
    record_id = serializers.IntegerField(source="object_id")
    verified_by = serializers.CharField(source="verified_by.display_name")
    verified_at = serializers.DateTimeField()
    row_version = serializers.IntegerField(help_text="The version of the form verified.")
    open_queries = serializers.IntegerField(
        help_text="Queries on the form unresolved when it was verified (by override)."
    )
    override_reason = serializers.CharField(
        help_text="Why it was verified while queries were unresolved; empty otherwise."
    )
    verified_fields = serializers.ListField(
        child=serializers.CharField(), help_text="The fields verified so far."
    )
    complete = serializers.BooleanField(
        help_text="Every field the protocol's SDV plan requires is verified."
    )


class SourceVerificationInput(serializers.Serializer):
    override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Verify although a query on the form is unresolved; needs a reason.",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why, with an override."
    )
    # Named as the API names it; the serializer's metaclass takes it out of the class.
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(),
        required=False,
        default=None,
        allow_null=True,
        help_text="Verify only these fields; without it, every field the SDV plan requires.",
    )


class SourceVerifyView(APIView):
    @extend_schema(
        request=SourceVerificationInput,
        responses={201: SourceVerificationOutput},
        summary="Record source data verification of a form or some of its fields (monitor)",
        description="The form is complete once every field the protocol's SDV plan requires "
        "(its critical fields, and all fields on forms verified in full or drawn in the sample) "
        "is verified. Refused while a query on the form is unresolved, unless the body has "
        "`override: true` and a `reason`; both are kept with the verification and its history.",
        tags=TAGS,
    )
    def post(self, request: Request, participant_id: int, code: str, record_id: int) -> Response:
        record = form_record_get(request.user, participant_id, code, record_id)
        body = valid(SourceVerificationInput, request.data)
        verification = sdv_verify(
            actor=request.user,
            form_code=code,
            record=record,
            form_fields=form_type(code).fields,
            fields=body["fields"],
            now=timezone.now(),
            override=body["override"],
            reason=body["reason"],
        )
        return Response(SourceVerificationOutput(verification).data, status=status.HTTP_201_CREATED)

"""The floor of an audited save, for the CRF save benchmark only (never in the site's URLs):
what any save of one vital signs record through the API must do at the least. It
authenticates the token (the API's authentication classes, as every API view), parses the
body with the form's own change serializer (version, reason and the vital signs fields),
changes the row by compare-and-set on the version read with its history row (actor and
reason) in one statement, and answers the new version.

It leaves out everything else the real save does: the participant and the record are not
checked against the user's memberships, sites or roles; no lock, consent, visit or edit check
runs; nothing is derived; no review mark is voided and no automatic query is written."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.models import VitalSigns
from assessments.rules.vitals import VITALS
from casebook.forms_serializers import FormChangeInput
from ecrf.bulk import Stamp, update_from


class FloorSaveView(APIView):
    def put(self, request: Request, record_id: int) -> Response:
        params = FormChangeInput(data=request.data, ftype=VITALS)
        params.is_valid(raise_exception=True)
        now = timezone.now()
        values: dict[str, Any] = {
            **params.validated_data["data"],
            "row_version": F("row_version") + 1,
            "updated_at": now,
        }
        changed = update_from(
            VitalSigns.objects.filter(pk=record_id, row_version=params.validated_data["version"]),
            values,
            stamp=Stamp(actor=request.user, reason=params.validated_data["reason"], now=now),
            returning=("row_version",),
        )
        if not changed:
            return Response({"detail": "Stale version."}, status=status.HTTP_409_CONFLICT)
        return Response({"id": record_id, "row_version": changed[0][0]})

"""API for exports: request, poll and download export jobs; grant and revoke DSMB releases."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from ecrf.errors import DomainError
from exports.base import FORMATS, RAW_LAYOUTS
from exports.models import ExportStatus
from exports.selectors import export_get, export_list
from exports.services import export_archive, export_request
from trials.api.base import PAGE_PARAMETERS, PageOutput, page, valid
from trials.blinding import release_get, release_list
from trials.selectors import trial_get
from trials.services import dsmb_release_grant, dsmb_release_revoke

TAGS = ["exports"]
EXPORT_STATUSES = " | ".join(ExportStatus.values)

EXAMPLES = """
Authenticate scripts with an API token (create one at `POST /api/v1/tokens/`), sent as
`Authorization: Token <key>`.

**curl**

```sh
# Request a blinded CSV export of trial MSVLE as it stood on 1 March 2026.
curl -s -X POST https://ecrf.example.org/api/v1/exports/ \\
  -H "Authorization: Token $ECRF_TOKEN" -H "Content-Type: application/json" \\
  -d '{"trial": "MSVLE", "format": "csv", "as_of": "2026-03-01T00:00:00Z"}'
# Poll it until "status" is "done" (or "failed").
curl -s -H "Authorization: Token $ECRF_TOKEN" https://ecrf.example.org/api/v1/exports/42/
# Download the zip of its files and manifest.json.
curl -s -H "Authorization: Token $ECRF_TOKEN" -o export.zip \\
  https://ecrf.example.org/api/v1/exports/42/download/
```

**Python (requests)**

```python
import os, time, requests

api = "https://ecrf.example.org/api/v1"
session = requests.Session()
session.headers["Authorization"] = f"Token {os.environ['ECRF_TOKEN']}"

export = session.post(f"{api}/exports/", json={
    "trial": "MSVLE", "format": "xpt", "as_of": "2026-03-01T00:00:00Z", "raw_layout": "wide",
}).json()
while export["status"] in ("queued", "running"):
    print(f"{export['percent']}% ({export['units_done']}/{export['units_total']})")
    time.sleep(2)
    export = session.get(f"{api}/exports/{export['id']}/").json()
if export["status"] == "failed":
    raise SystemExit(export["error"])
with session.get(export["download_url"], stream=True) as reply:
    reply.raise_for_status()
    with open("export.zip", "wb") as out:
        for chunk in reply.iter_content(1 << 16):
            out.write(chunk)
```
"""
SEE_EXAMPLES = "Examples with curl and Python requests: `POST /api/v1/exports/`."


# Exports ------------------------------------------------------------------------------------


class ProtocolVersionRefOutput(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]


class ExportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    trial = serializers.CharField(source="trial.code")
    protocol_version = ProtocolVersionRefOutput(help_text="The version in force at as_of.")
    format = serializers.CharField(help_text=" | ".join(FORMATS))
    as_of = serializers.DateTimeField()
    blinded = serializers.BooleanField()
    raw_layout = serializers.CharField(
        help_text="Raw tables beside the datasets: " + " | ".join(RAW_LAYOUTS) + "; empty: none."
    )
    # Plain text, not an enum: the schema's shared "status" enum name stays with the forms.
    status = serializers.CharField(help_text=EXPORT_STATUSES)
    status_label = serializers.CharField(source="get_status_display")
    percent = serializers.IntegerField(help_text="0-100; 100 once done.")
    units_done = serializers.IntegerField(help_text="Rows (CSV, XPT) or data points (ODM).")
    units_total = serializers.IntegerField()
    error = serializers.CharField(help_text="Why it failed; empty otherwise.")
    requested_by = serializers.CharField(source="requested_by.username")
    dsmb_release = serializers.IntegerField(source="dsmb_release_id", allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    manifest = serializers.SerializerMethodField(
        help_text="Trial, protocol version, as_of, generated_at, row counts and the SHA-256 "
        "of every file; null until done."
    )
    download_url = serializers.SerializerMethodField(help_text="Null until done.")

    def get_manifest(self, export: Any) -> dict[str, Any] | None:
        return export.manifest if export.status == ExportStatus.DONE else None

    def get_download_url(self, export: Any) -> str | None:
        if export.status != ExportStatus.DONE:
            return None
        url = reverse("api:export-download", args=[export.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ExportPageOutput(PageOutput):
    results = ExportOutput(many=True)


class ExportFilterInput(serializers.Serializer):
    trial = serializers.CharField(required=False, help_text="Trial code.")
    status = serializers.CharField(required=False, help_text=EXPORT_STATUSES)

    def validate_status(self, value: str) -> str:
        if value not in ExportStatus.values:
            raise serializers.ValidationError(f"Choose one of: {EXPORT_STATUSES}.")
        return value


class ExportRequestInput(serializers.Serializer):
    trial = serializers.CharField(help_text="Trial code, e.g. MSVLE.")
    format = serializers.CharField(help_text=" | ".join(FORMATS))
    as_of = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="ISO 8601 instant to rebuild the data as of; empty: now. Without an offset: UTC.",
    )
    unblinded = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Unblinded statisticians only, after trial lock or under a DSMB release.",
    )
    raw_layout = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Also the raw tables (one CSV per form, labels, review state, SAS, R and "
        "Stata load programs) in the folder raw/: " + " | ".join(RAW_LAYOUTS) + "; empty: none.",
    )

    def validate_raw_layout(self, value: str) -> str:
        if value and value not in RAW_LAYOUTS:
            raise serializers.ValidationError(f"Choose one of: {', '.join(RAW_LAYOUTS)}.")
        return value

    def validate_format(self, value: str) -> str:
        if value not in FORMATS:
            raise serializers.ValidationError(f"Choose one of: {', '.join(FORMATS)}.")
        return value


class ExportListView(APIView):
    @extend_schema(
        parameters=[ExportFilterInput, *PAGE_PARAMETERS],
        responses=ExportPageOutput,
        operation_id="exports_list",
        summary="Exports of my trials, newest first (statisticians)",
        description="Blinded statisticians see blinded exports only. " + SEE_EXAMPLES,
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        filters = valid(ExportFilterInput, request.query_params)
        trial = trial_get(request.user, filters["trial"]) if filters.get("trial") else None
        rows = export_list(request.user, trial=trial, status=filters.get("status"))
        return page(request, self, rows, ExportOutput)

    @extend_schema(
        request=ExportRequestInput,
        responses={202: ExportOutput},
        summary="Request an export; it runs in the background (statisticians)",
        description=(
            "Queues an export of the trial as it stood at `as_of`. Poll its detail for "
            "`status`, `percent` and `units_done`; once `done`, fetch `download_url`. "
            "A blinded statistician never gets an unblinded export; an unblinded one needs "
            "the trial locked or a DSMB release." + EXAMPLES
        ),
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        params = valid(ExportRequestInput, request.data)
        trial = trial_get(request.user, params["trial"])
        export = export_request(
            actor=request.user,
            trial=trial,
            fmt=params["format"],
            as_of=params["as_of"],
            unblinded=params["unblinded"],
            raw_layout=params["raw_layout"],
            now=timezone.now(),
        )
        output = ExportOutput(export_get(request.user, export.pk), context={"request": request})
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(APIView):
    @extend_schema(
        responses=ExportOutput,
        operation_id="exports_retrieve",
        summary="One export: status, progress, manifest and download link",
        description="Poll until `status` is `done` or `failed`. " + SEE_EXAMPLES,
        tags=TAGS,
    )
    def get(self, request: Request, export_id: int) -> Response:
        export = export_get(request.user, export_id)
        return Response(ExportOutput(export, context={"request": request}).data)


class ExportDownloadView(APIView):
    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="A zip of manifest.json and the export's files, streamed.",
            ),
            409: OpenApiResponse(description="The export is not done."),
        },
        summary="Download a done export as a zip (files and manifest.json)",
        description=(
            "The zip holds manifest.json first, then the files in the manifest's order; "
            "recompute each file's SHA-256 to check it. " + SEE_EXAMPLES
        ),
        tags=TAGS,
    )
    def get(self, request: Request, export_id: int) -> StreamingHttpResponse:
        export = export_get(request.user, export_id)
        archive = export_archive(
            user=request.user, export=export, now=timezone.now(), path=request.path
        )
        response = StreamingHttpResponse(archive.chunks, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
        response["Cache-Control"] = "private, no-store"
        return response


# DSMB releases ------------------------------------------------------------------------------


class ReleaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    trial = serializers.CharField(source="trial.code")
    recipient = serializers.CharField(source="recipient.username")
    reason = serializers.CharField()
    granted_by = serializers.CharField(source="granted_by.username")
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(source="revoked_by.username", allow_null=True, default=None)
    revoke_reason = serializers.CharField()
    active = serializers.SerializerMethodField()

    def get_active(self, release: Any) -> bool:
        return bool(release.is_active(self.context.get("now") or timezone.now()))


class ReleasePageOutput(PageOutput):
    results = ReleaseOutput(many=True)


class ReleaseFilterInput(serializers.Serializer):
    trial = serializers.CharField(required=False, help_text="Trial code.")


class ReleaseGrantInput(serializers.Serializer):
    trial = serializers.CharField(help_text="Trial code.")
    recipient = serializers.CharField(help_text="Username of an unblinded statistician.")
    reason = serializers.CharField(help_text="Why, e.g. the DSMB meeting it serves.")
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Empty: until revoked."
    )


class ReleaseRevokeInput(serializers.Serializer):
    reason = serializers.CharField()


class ReleaseListView(APIView):
    @extend_schema(
        parameters=[ReleaseFilterInput, *PAGE_PARAMETERS],
        responses=ReleasePageOutput,
        operation_id="dsmb_releases_list",
        summary="DSMB releases: all of my trials (trial administrator), or my own",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        filters = valid(ReleaseFilterInput, request.query_params)
        trial = trial_get(request.user, filters["trial"]) if filters.get("trial") else None
        return page(request, self, release_list(request.user, trial=trial), ReleaseOutput)

    @extend_schema(
        request=ReleaseGrantInput,
        responses={201: ReleaseOutput},
        summary="Let an unblinded statistician see arms before lock: unblinded exports and "
        "each participant's allocation (trial admin)",
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        params = valid(ReleaseGrantInput, request.data)
        trial = trial_get(request.user, params["trial"])
        recipient = User.objects.filter(username=params["recipient"], is_active=True).first()
        if recipient is None:
            raise DomainError("No such user.", fields={"recipient": ["No such user."]})
        release = dsmb_release_grant(
            actor=request.user,
            trial=trial,
            recipient=recipient,
            reason=params["reason"],
            expires_at=params["expires_at"],
            now=timezone.now(),
        )
        return Response(ReleaseOutput(release).data, status=status.HTTP_201_CREATED)


class ReleaseRevokeView(APIView):
    @extend_schema(
        request=ReleaseRevokeInput,
        responses=ReleaseOutput,
        summary="Revoke a DSMB release: its recipient sees no arm on it from now (trial admin)",
        tags=TAGS,
    )
    def post(self, request: Request, release_id: int) -> Response:
        release = release_get(request.user, release_id)
        params = valid(ReleaseRevokeInput, request.data)
        revoked = dsmb_release_revoke(
            actor=request.user, release=release, reason=params["reason"], now=timezone.now()
        )
        return Response(ReleaseOutput(revoked).data)

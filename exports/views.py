"""Exports page for statisticians: previous exports with progress and manifest, and a request."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ecrf.errors import DomainError, PermissionDeniedError
from exports.forms import ExportRequestForm
from exports.selectors import EXPORT_ROLES, export_get, export_list, export_rights
from exports.services import export_archive, export_request
from trials.workspace import current_membership

# The page lists this many of the newest exports; the API pages through all of them.
LIST_SIZE = 100


def _statistician_membership(request: HttpRequest) -> Any:
    membership = current_membership(request)
    if membership is not None and membership.role not in EXPORT_ROLES:
        raise PermissionDeniedError(_("Only statisticians export data."))
    return membership


def _page(
    request: HttpRequest, membership: Any, form: ExportRequestForm | None, *, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {"membership": membership}
    if membership is not None:
        rights = export_rights(request.user, membership.trial, now=timezone.now())
        context |= {
            "rights": rights,
            "form": form or ExportRequestForm(allow_unblinded=rights.unblinded_role),
            "exports": export_list(request.user, trial=membership.trial)[:LIST_SIZE],
        }
    return render(request, "exports/list.html", context, status=status)


@login_required
@require_GET
def export_list_view(request: HttpRequest) -> HttpResponse:
    return _page(request, _statistician_membership(request), None)


@login_required
@require_POST
def export_request_view(request: HttpRequest) -> HttpResponse:
    membership = _statistician_membership(request)
    if membership is None:
        raise PermissionDeniedError(_("Only statisticians export data."))
    rights = export_rights(request.user, membership.trial, now=timezone.now())
    form = ExportRequestForm(request.POST, allow_unblinded=rights.unblinded_role)
    if not form.is_valid():
        messages.error(request, _("Please correct the fields shown."))
        return _page(request, membership, form, status=400)
    try:
        export = export_request(
            actor=request.user,
            trial=membership.trial,
            fmt=form.cleaned_data["format"],
            as_of=form.cleaned_data["as_of"],
            unblinded=bool(form.cleaned_data.get("unblinded")),
            raw_layout=form.cleaned_data.get("raw_layout") or "",
            now=timezone.now(),
        )
    except DomainError as error:
        # A refusal here (no lock yet, an instant in the future) is shown beside the form.
        messages.error(request, error.message)
        return _page(request, membership, form, status=error.status_code)
    messages.success(
        request, _("Export %(id)s is queued; this page shows its progress.") % {"id": export.pk}
    )
    return redirect("exports:list")


@never_cache
@login_required
@require_GET
def export_row_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One export's row, polled by the page while the export is queued or running."""
    return render(request, "exports/_row.html", {"export": export_get(request.user, pk)})


@login_required
@require_GET
def export_download_view(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    export = export_get(request.user, pk)
    archive = export_archive(
        user=request.user, export=export, now=timezone.now(), path=request.path
    )
    response = StreamingHttpResponse(archive.chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response

"""Archive pages: a participant's casebook as PDF, the site archive of the investigator, and
the annotated CRF of the data managers."""

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

from archive.annotated import annotated_crf, annotated_crf_pdf, annotated_name
from archive.selectors import ARCHIVE_ROLE, site_archive_get, site_archive_list, site_lock
from archive.services import (
    casebook_filename,
    casebook_pdf,
    site_archive_download,
    site_archive_request,
)
from ecrf.access import Role
from ecrf.errors import DomainError, PermissionDeniedError
from trials.selectors import participant_get
from trials.workspace import current_membership

# The page lists this many of the site's newest archives.
LIST_SIZE = 50
# Who prints the blank annotated CRF: data management, who map the forms to the datasets.
CRF_ROLES = frozenset({Role.DATA_MANAGER})


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def casebook_pdf_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    """The participant's casebook as it stands now, for anyone who may read their casebook."""
    participant = participant_get(request.user, participant_id)
    now = timezone.now().replace(microsecond=0)
    data = casebook_pdf(
        user=request.user, participant=participant, as_of=now, now=now, path=request.path
    )
    return _pdf_response(data, casebook_filename(participant))


def _investigator_site(request: HttpRequest) -> Any:
    membership = current_membership(request)
    if membership is None or membership.role != ARCHIVE_ROLE or membership.site is None:
        raise PermissionDeniedError(_("Only the investigator of a site archives its casebooks."))
    return membership


@login_required
@require_GET
def site_archives_view(request: HttpRequest) -> HttpResponse:
    membership = _investigator_site(request)
    site = membership.site
    return render(
        request,
        "archive/site_archives.html",
        {
            "membership": membership,
            "site": site,
            "lock": site_lock(site),
            "archives": site_archive_list(request.user, site)[:LIST_SIZE],
        },
    )


@login_required
@require_POST
def site_archive_request_view(request: HttpRequest) -> HttpResponse:
    membership = _investigator_site(request)
    try:
        archive = site_archive_request(actor=request.user, site=membership.site, now=timezone.now())
    except PermissionDeniedError:
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Archive %(id)s is queued; this page shows its progress.") % {"id": archive.pk},
        )
    return redirect("archive:site-archives")


@never_cache
@login_required
@require_GET
def site_archive_row_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One archive's row, polled by the page while it is queued or running."""
    return render(request, "archive/_row.html", {"archive": site_archive_get(request.user, pk)})


@login_required
@require_GET
def site_archive_download_view(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    archive = site_archive_download(user=request.user, archive=site_archive_get(request.user, pk))
    response = StreamingHttpResponse(archive.chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _crf(request: HttpRequest) -> Any:
    membership = current_membership(request)
    if membership is None or membership.role not in CRF_ROLES:
        raise PermissionDeniedError(_("The annotated CRF is for data managers."))
    return annotated_crf(membership.trial)


@login_required
@require_GET
def annotated_crf_view(request: HttpRequest) -> HttpResponse:
    return render(request, "exports/annotated_crf.html", {"crf": _crf(request), "created": ""})


@login_required
@require_GET
def annotated_crf_pdf_view(request: HttpRequest) -> HttpResponse:
    crf = _crf(request)
    return _pdf_response(
        annotated_crf_pdf(crf, language=request.LANGUAGE_CODE), annotated_name(crf)
    )

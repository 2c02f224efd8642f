"""Project-wide pages: health probe, home page, choice of the current trial and site."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ecrf.access import ROLE_ABILITIES, active_memberships
from ecrf.errors import DomainError, NotFoundError
from ecrf.redirects import safe_next_url
from ecrf.selectors import system_health
from ecrf.workspace import WORKSPACE_SESSION_KEY


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    report = system_health(now=timezone.now())
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = list(active_memberships(request.user).order_by("trial__code", "site__code"))
    abilities = [
        (membership, ROLE_ABILITIES.get(membership.role, ())) for membership in memberships
    ]
    return render(request, "home.html", {"abilities": abilities})


@login_required
@require_POST
def choose_workspace(request: HttpRequest) -> HttpResponse:
    chosen = request.POST.get("membership", "")
    # A primary key is a positive 64-bit integer; anything else names no membership.
    membership_id = int(chosen) if chosen.isdecimal() and len(chosen) < 19 else None
    membership = (
        active_memberships(request.user).filter(pk=membership_id).first() if membership_id else None
    )
    if membership is None:
        messages.error(request, _("That workspace is not one of yours."))
    else:
        request.session[WORKSPACE_SESSION_KEY] = membership.pk
    return HttpResponseRedirect(safe_next_url(request, default="/"))


def _api_error(request: HttpRequest, error: DomainError, status: int) -> HttpResponse | None:
    # An API client gets the API's one error body wherever the error arose, JSON not a page.
    if request.path.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=status)
    return None


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 of an address that matches no route (an id that is not a number, say)."""
    error = NotFoundError("No such address in the API.")
    return _api_error(request, error, 404) or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    error = DomainError("Something went wrong on the server; the error is logged.")
    error.code = "server_error"
    return _api_error(request, error, 500) or defaults.server_error(request)

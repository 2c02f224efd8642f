"""Project-wide pages: health probe, home page, choice of the current trial and site."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ecrf.access import ROLE_ABILITIES, active_memberships
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
    membership_id = request.POST.get("membership", "")
    if active_memberships(request.user).filter(pk=membership_id).exists():
        request.session[WORKSPACE_SESSION_KEY] = int(membership_id)
    next_url = request.POST.get("next") or "/"
    return redirect(next_url if next_url.startswith("/") and not next_url.startswith("//") else "/")

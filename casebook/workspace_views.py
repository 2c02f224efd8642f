"""The clinician's workspace: the home page's to-do list, the participant search and the grid."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from casebook.grid import LEGEND
from casebook.todo import participant_search, todo_list
from casebook.trial_grid import SORTS, grid_participants, grid_sites, trial_grid
from ecrf.access import ROLE_ABILITIES
from trials.access import active_memberships
from trials.models import ParticipantStatus
from trials.workspace import current_membership

# Participants on one page of the grid: each row holds every visit and its forms.
GRID_PAGE_SIZE = 25


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    memberships = list(active_memberships(request.user).order_by("trial__code", "site__code"))
    abilities = [
        (membership, ROLE_ABILITIES.get(membership.role, ())) for membership in memberships
    ]
    todo = todo_list(request.user, now=timezone.now()) if memberships else None
    return render(request, "home.html", {"abilities": abilities, "todo": todo})


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")[:40]
    found = participant_search(request.user, text)
    if len(found) == 1:
        return redirect("trials:participant", found[0].pk)
    return render(request, "casebook/search.html", {"text": text, "found": found})


@login_required
@require_GET
def grid(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return render(request, "casebook/trial_grid.html", {"membership": None})
    trial = membership.trial
    sites = list(grid_sites(request.user, trial))
    site = request.GET.get("site", "")
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "identifier")
    chosen_site = site if site in {s.code for s in sites} else ""
    chosen_status = status if status in ParticipantStatus.values else ""
    mine = request.GET.get("mine") == "1"
    chosen_sort = sort if sort in SORTS else "identifier"
    participants = grid_participants(
        request.user, trial, site=chosen_site, status=chosen_status, mine=mine, sort=chosen_sort
    )
    page = Paginator(participants, GRID_PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {"site": chosen_site, "status": chosen_status, "mine": "1" if mine else ""}
    filters = {**kept, "mine": mine, "sort": chosen_sort}
    query = urlencode({k: v for k, v in kept.items() if v})
    return render(
        request,
        "casebook/trial_grid.html",
        {
            "membership": membership,
            "page": page,
            "grid": trial_grid(request.user, trial, list(page.object_list), now=timezone.now()),
            "sites": sites,
            "statuses": ParticipantStatus.choices,
            "filters": filters,
            "query": query,
            "legend": LEGEND,
        },
    )

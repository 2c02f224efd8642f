"""The choice of where to work: the trial and site of the signed-in person's session."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecrf.redirects import safe_next_url
from trials.access import active_memberships
from trials.workspace import WORKSPACE_SESSION_KEY


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

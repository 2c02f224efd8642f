"""The trial and site a signed-in person is working in, kept in their session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from trials.access import active_memberships

WORKSPACE_SESSION_KEY = "workspace_membership_id"


def current_membership(request: HttpRequest) -> Any:
    """The membership chosen in this session, else the user's first one, else None."""
    memberships = active_memberships(request.user).order_by("trial__code", "site__code", "pk")
    chosen = request.session.get(WORKSPACE_SESSION_KEY)
    if chosen is not None:
        found = memberships.filter(pk=chosen).first()
        if found is not None:
            return found
    return memberships.first()

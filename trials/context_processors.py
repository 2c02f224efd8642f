"""Template context shared by every page: the current trial, site and role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from trials.access import active_memberships
from trials.workspace import current_membership


def workspace(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_membership": current_membership(request),
        "all_memberships": active_memberships(user).order_by("trial__code", "site__code"),
    }

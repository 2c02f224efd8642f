"""The Django admin, open to trial administrators only; history is read-only there."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from ecrf.access import is_trial_admin


class TrialAdminSite(admin.AdminSite):
    site_header = "eCRF administration"
    site_title = "eCRF administration"

    def has_permission(self, request: HttpRequest) -> bool:
        return is_trial_admin(request.user)


class TrialAdminModelAdmin(SimpleHistoryAdmin):
    """Trial administrators may view, add and change; nothing is ever deleted here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_trial_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_trial_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_trial_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_trial_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        # Reverting would rewrite clinical history; the history list stays viewable.
        raise PermissionDenied("History records are read-only.")

"""The Django admin, for platform operators (active superusers) only; history is read-only there."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from ecrf.access import is_operator


class TrialAdminSite(admin.AdminSite):
    """Trial administrators manage their trial through the project's own pages and API: the
    admin can change any account, flag and trial, so it is for platform operators alone."""

    site_header = "eCRF administration"
    site_title = "eCRF administration"

    def has_permission(self, request: HttpRequest) -> bool:
        return is_operator(request.user)


class OperatorPermissions:
    """Operators may view, add and change; nothing is ever deleted here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_operator(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_operator(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TrialAdminModelAdmin(OperatorPermissions, SimpleHistoryAdmin):
    """The admin of an audited model: operators only, history viewable but never reverted."""

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        # Reverting would rewrite clinical history; the history list stays viewable.
        raise PermissionDenied("History records are read-only.")


class ReasonFormMixin(forms.Form):
    """A required reason on an admin form; it becomes the history record's change reason."""

    change_reason = forms.CharField(
        label="Reason for change",
        max_length=100,
        help_text="Kept in the history of this record.",
    )


class ReasonAdminMixin:
    """Stamp the reason typed on the form onto the history record of the save."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj._change_reason = form.cleaned_data["change_reason"].strip()
        obj._history_user = request.user
        super().save_model(request, obj, form, change)  # type: ignore[misc]

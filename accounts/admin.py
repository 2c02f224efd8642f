"""Admin for user accounts and API tokens (platform operators only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import token_revoke, user_end_access
from ecrf.admin import (
    OperatorPermissions,
    ReasonAdminMixin,
    ReasonFormMixin,
    TrialAdminModelAdmin,
)

REASON_FIELDSET: Any = ("Reason for change", {"fields": ("change_reason",)})


class UserChangeReasonForm(ReasonFormMixin, UserChangeForm):  # type: ignore[type-arg]
    pass


class UserCreationReasonForm(ReasonFormMixin, AdminUserCreationForm):  # type: ignore[type-arg]
    pass


class OperatorPasswordForm(AdminPasswordChangeForm):
    def save(self, commit: bool = True) -> Any:
        self.user._change_reason = "Password set by a platform operator"
        return super().save(commit=commit)


@admin.register(User)
class UserAdmin(ReasonAdminMixin, TrialAdminModelAdmin, BaseUserAdmin):
    form = UserChangeReasonForm
    add_form = UserCreationReasonForm
    change_password_form = OperatorPasswordForm
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("eCRF", {"fields": ("printed_name", "language")}),
        REASON_FIELDSET,
    )
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, REASON_FIELDSET)
    list_display = ("username", "printed_name", "email", "is_active", "language")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        deactivated = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivated:
            # As any deactivation: open sessions and API tokens stop working at once.
            user_end_access(
                user=obj,
                now=timezone.now(),
                reason=form.cleaned_data["change_reason"].strip(),
                actor=request.user,
            )


@admin.register(ApiToken)
class ApiTokenAdmin(OperatorPermissions, admin.ModelAdmin):  # type: ignore[type-arg]
    """Tokens are read here, and revoked: never created, given to another owner or revived."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in ApiToken._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        # Only tokens still valid are touched: a revocation date is never moved or cleared.
        now = timezone.now()
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(
                user=token.user,
                token_id=token.pk,
                now=now,
                actor=request.user,
                reason="Revoked by a platform operator",
            )
            count += 1
        messages.success(request, f"{count} token(s) revoked.")

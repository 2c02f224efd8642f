"""Admin for user accounts and API tokens (trial administrators only)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import ApiToken, User
from ecrf.admin import TrialAdminModelAdmin


@admin.register(User)
class UserAdmin(TrialAdminModelAdmin, BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("eCRF", {"fields": ("printed_name", "language")}),
    )
    list_display = ("username", "printed_name", "email", "is_active", "language")


@admin.register(ApiToken)
class ApiTokenAdmin(TrialAdminModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")

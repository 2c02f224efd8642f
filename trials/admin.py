"""Admin for trials, sites and memberships (platform operators only)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from ecrf.admin import ReasonAdminMixin, ReasonFormMixin, TrialAdminModelAdmin
from trials.models import Membership, RoleGrantRequest, Site, Trial


@admin.register(Trial)
class TrialAdmin(TrialAdminModelAdmin):
    list_display = ("code", "short_title")


@admin.register(Site)
class SiteAdmin(TrialAdminModelAdmin):
    list_display = ("code", "name", "trial", "country", "time_zone")
    list_filter = ("trial",)


class MembershipReasonForm(ReasonFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Membership
        fields = ["user", "trial", "site", "role", "ended_at"]


@admin.register(Membership)
class MembershipAdmin(ReasonAdminMixin, TrialAdminModelAdmin):
    form = MembershipReasonForm
    list_display = ("user", "trial", "site", "role", "ended_at")
    list_filter = ("trial", "role")


@admin.register(RoleGrantRequest)
class RoleGrantRequestAdmin(TrialAdminModelAdmin):
    """Requests are decided by a second person on the trial's staff page, not here."""

    list_display = ("user", "trial", "site", "role", "status", "requested_by", "decided_by")
    list_filter = ("trial", "status")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in RoleGrantRequest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

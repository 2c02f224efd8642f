"""Admin for trials, sites and memberships (trial administrators only)."""

from django.contrib import admin

from ecrf.admin import TrialAdminModelAdmin
from trials.models import Membership, Site, Trial


@admin.register(Trial)
class TrialAdmin(TrialAdminModelAdmin):
    list_display = ("code", "short_title")


@admin.register(Site)
class SiteAdmin(TrialAdminModelAdmin):
    list_display = ("code", "name", "trial", "country", "time_zone")
    list_filter = ("trial",)


@admin.register(Membership)
class MembershipAdmin(TrialAdminModelAdmin):
    list_display = ("user", "trial", "site", "role", "ended_at")
    list_filter = ("trial", "role")

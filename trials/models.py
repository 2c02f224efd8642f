"""Trials, their sites and the memberships that give people roles in them."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ecrf.access import SITE_ROLES, Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Trial(models.Model):
    code = models.SlugField(max_length=12, unique=True)
    title = models.CharField(max_length=300)
    short_title = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.short_title or self.code


class Site(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(max_length=6)
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trial", "code"], name="site_code_unique_per_trial")
        ]
        ordering = ["trial", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(ended_at__isnull=True, user__is_active=True)


class Membership(models.Model):
    """A role in one trial, at one site or (site empty) at all of its sites."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "trial", "site", "role"],
                condition=Q(ended_at__isnull=True),
                name="membership_unique_active",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site is not None else "all sites"
        return f"{self.user} — {self.get_role_display()} — {self.trial.code} {where}"

    def clean(self) -> None:
        if self.role in SITE_ROLES and self.site_id is None:
            raise ValidationError({"site": _("This role works at a named site.")})
        if self.role not in SITE_ROLES and self.site_id is not None:
            raise ValidationError({"site": _("This role works across all sites; leave empty.")})
        if self.site is not None and self.trial_id and self.site.trial_id != self.trial_id:
            raise ValidationError({"site": _("The site belongs to another trial.")})

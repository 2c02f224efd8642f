"""Sites of a trial, the memberships that give people roles there, and role requests."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrf.access import SITE_ROLES, Role
from ecrf.history import audit_history
from trials.models.trial import Trial


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Site(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(max_length=6)
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])

    history = audit_history()

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
    history = audit_history()

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
        check_role_site(self.role, self.site, self.trial_id)


def check_role_site(role: str, site: Site | None, trial_id: int | None) -> None:
    """A site role names a site of the same trial; a trial-wide role names none."""
    if role in SITE_ROLES and site is None:
        raise ValidationError({"site": _("This role works at a named site.")})
    if role not in SITE_ROLES and site is not None:
        raise ValidationError({"site": _("This role works across all sites; leave empty.")})
    if site is not None and trial_id and site.trial_id != trial_id:
        raise ValidationError({"site": _("The site belongs to another trial.")})


class RoleRequestStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class RoleGrantRequest(models.Model):
    """A role that takes effect only when a second person approves it.

    Unblinded roles, the trial administrator role and any role a person asks for themselves
    are granted this way: the approver is neither the requester nor the person receiving the
    role, and the approval with its reason creates the membership.
    """

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="role_requests")
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=RoleRequestStatus.choices, default=RoleRequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = audit_history()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "trial", "site", "role"],
                condition=Q(status=RoleRequestStatus.PENDING),
                name="role_request_one_pending",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        status=RoleRequestStatus.PENDING,
                        decided_by__isnull=True,
                        decided_at__isnull=True,
                        membership__isnull=True,
                    )
                    | (
                        ~Q(status=RoleRequestStatus.PENDING)
                        & Q(decided_by__isnull=False, decided_at__isnull=False)
                    )
                ),
                name="role_request_decided_by_someone",
            ),
            # The database itself refuses an approval by the requester or by the grantee.
            models.CheckConstraint(
                condition=(
                    ~Q(status=RoleRequestStatus.APPROVED)
                    | (
                        Q(membership__isnull=False)
                        & ~Q(decided_by=models.F("requested_by"))
                        & ~Q(decided_by=models.F("user"))
                    )
                ),
                name="role_request_approved_by_another",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.trial.code} ({self.status})"

    def clean(self) -> None:
        check_role_site(self.role, self.site, self.trial_id)

"""Trials, their sites and the memberships that give people roles in them."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrf.access import SITE_ROLES, Role
from ecrf.errors import DomainError
from ecrf.history import audit_history


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Trial(models.Model):
    """A trial; what it collects and how is in its protocol versions."""

    code = models.SlugField(max_length=12, unique=True)
    title = models.CharField(max_length=300)
    short_title = models.CharField(max_length=100)
    nct = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept by the data manager's trial lock and unlock (review), in the same transaction as
    # the lock itself, so the blinding gate reads it without reaching up to review.
    locked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the trial database was locked; empty while it is not locked.",
    )

    history = audit_history()

    def __str__(self) -> str:
        return self.short_title or self.code


class ProtocolVersion(models.Model):
    """One loaded definition file; a changed file is a new version (an amendment)."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="protocol_versions")
    number = models.PositiveIntegerField(help_text="1 for the first version loaded, then 2, ...")
    label = models.CharField(max_length=40, help_text="The version label written in the file.")
    checksum = models.CharField(max_length=64)
    definition = models.JSONField(help_text="The parsed definition as loaded.")
    source_name = models.CharField(max_length=200)
    loaded_at = models.DateTimeField()
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trial", "number"], name="protocol_version_number"),
            models.UniqueConstraint(fields=["trial", "checksum"], name="protocol_version_checksum"),
        ]
        ordering = ["trial", "number"]

    def __str__(self) -> str:
        return f"{self.trial.code} v{self.label} (#{self.number})"


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


class CohortStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Open")
    FULL = "full", _("Full, awaiting safety review")
    REVIEWED = "reviewed", _("Reviewed")
    STOPPED = "stopped", _("Stopped")


class Cohort(models.Model):
    """A dose level of an open-label dose-escalation stage."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="cohorts")
    stage_code = models.CharField(max_length=20)
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    dose_cells_per_kg = models.FloatField()
    planned_n = models.PositiveIntegerField()
    order = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=CohortStatus.choices, default=CohortStatus.PLANNED
    )

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trial", "code"], name="cohort_code_unique_per_trial")
        ]
        ordering = ["trial", "stage_code", "order"]

    def __str__(self) -> str:
        return f"{self.code} ({self.dose_cells_per_kg:g} cells/kg)"


class SafetyDecision(models.TextChoices):
    ESCALATE = "escalate", _("Escalate to the next dose")
    STAY = "stay", _("Stay at this dose (expand the cohort)")
    STOP = "stop", _("Stop dose escalation")


class SafetyReview(models.Model):
    """The recorded safety review of a full cohort; it gates the next cohort."""

    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="safety_reviews")
    decision = models.CharField(max_length=16, choices=SafetyDecision.choices)
    rationale = models.TextField()
    expand_by = models.PositiveIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()

    history = audit_history()

    def __str__(self) -> str:
        return f"{self.cohort.code}: {self.decision}"


class SiteCounter(models.Model):
    """Last number handed out per site and kind; numbers are never reused."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "kind"], name="site_counter_kind")]

    def __str__(self) -> str:
        return f"{self.site.code} {self.kind}: {self.last_value}"


class ParticipantStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SCREEN_FAILED = "screen_failed", _("Screen failed")
    ELIGIBLE = "eligible", _("Eligible")
    RANDOMIZED = "randomized", _("Randomized")
    ENROLLED = "enrolled", _("Enrolled in cohort")
    ON_STUDY = "on_study", _("On study")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class Participant(models.Model):
    """A person screened for a trial at one site. Never deleted; withdrawal keeps all data."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="participants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    protocol_version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="+"
    )
    screening_number = models.CharField(max_length=20)
    # NULL, not "", until assigned: the per-trial unique constraint must ignore unassigned rows.
    subject_id = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    sex = models.CharField(max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField()
    status = models.CharField(
        max_length=20, choices=ParticipantStatus.choices, default=ParticipantStatus.SCREENING
    )
    registered_at = models.DateTimeField()
    screen_failure_reason = models.TextField(blank=True)
    eligibility_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    eligibility_confirmed_at = models.DateTimeField(null=True, blank=True)
    stage_code = models.CharField(max_length=20, blank=True)
    randomization_number = models.CharField(max_length=20, blank=True)
    randomized_at = models.DateTimeField(null=True, blank=True)
    cohort = models.ForeignKey(
        Cohort, on_delete=models.PROTECT, null=True, blank=True, related_name="participants"
    )
    day0 = models.DateField(null=True, blank=True, help_text="Protocol Day 0: first infusion.")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    unblinded_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "screening_number"], name="participant_screening_number"
            ),
            models.UniqueConstraint(
                fields=["trial", "subject_id"],
                condition=Q(subject_id__isnull=False),
                name="participant_subject_id",
            ),
        ]
        indexes = [models.Index(fields=["trial", "site", "status"])]
        ordering = ["trial", "site", "screening_number"]

    def __str__(self) -> str:
        return self.subject_id or self.screening_number

    @property
    def identifier(self) -> str:
        return self.subject_id or self.screening_number


class Consent(models.Model):
    """Informed consent given by a participant to one version of the consent form."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    form_version = models.CharField(max_length=40)
    consent_date = models.DateField()
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        ordering = ["participant", "consent_date", "pk"]

    def __str__(self) -> str:
        return f"Consent {self.form_version} of {self.participant} on {self.consent_date}"


class CriterionKind(models.TextChoices):
    INCLUSION = "inclusion", _("Inclusion")
    EXCLUSION = "exclusion", _("Exclusion")


class EligibilityAnswer(models.Model):
    """One criterion of the checklist: an inclusion met, or an exclusion that applies."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="eligibility_answers"
    )
    criterion_code = models.CharField(max_length=10)
    kind = models.CharField(max_length=10, choices=CriterionKind.choices)
    answer = models.BooleanField(
        help_text="Inclusion: criterion met. Exclusion: criterion applies."
    )
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "criterion_code"], name="eligibility_answer_once"
            )
        ]
        ordering = ["participant", "kind", "criterion_code"]

    def __str__(self) -> str:
        return f"{self.participant} {self.criterion_code}: {self.answer}"


class AllocationList(models.Model):
    """The concealed allocation list of a randomized stage. Never shown to blinded users."""

    class Method(models.TextChoices):
        GENERATED = "generated", _("Generated from a secret seed")
        IMPORTED = "imported", _("Imported from CSV")

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    stage_code = models.CharField(max_length=20)
    method = models.CharField(max_length=16, choices=Method.choices)
    seed_sha256 = models.CharField(max_length=64, blank=True)
    block_sizes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "stage_code"], name="allocation_list_per_stage"
            )
        ]

    def __str__(self) -> str:
        return f"Allocation list {self.trial.code} {self.stage_code}"


class AllocationSlot(models.Model):
    """One concealed line of an allocation list; taken by exactly one participant."""

    allocation_list = models.ForeignKey(
        AllocationList, on_delete=models.PROTECT, related_name="slots"
    )
    stratum = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField()
    block_number = models.PositiveIntegerField()
    block_size = models.PositiveIntegerField()
    arm_code = models.CharField(max_length=20)
    randomization_number = models.CharField(max_length=20)
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, null=True, blank=True, related_name="allocation"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["allocation_list", "stratum", "sequence"], name="allocation_slot_sequence"
            ),
            models.UniqueConstraint(
                fields=["allocation_list", "randomization_number"], name="allocation_slot_number"
            ),
        ]
        ordering = ["allocation_list", "stratum", "sequence"]

    def __str__(self) -> str:
        return f"Slot {self.randomization_number}"


class UnblindingEvent(models.Model):
    """An emergency unblinding of one participant, requested with a reason."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="unblindings"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    created_at = models.DateTimeField()

    history = audit_history()

    def __str__(self) -> str:
        return f"Unblinding of {self.participant} at {self.created_at:%Y-%m-%d %H:%M}"


class DsmbRelease(models.Model):
    """Permission for one unblinded statistician to see arms before trial lock.

    Granted by a trial administrator (the role that grants memberships, and so access) for a
    DSMB review, with a reason. It is in force from `granted_at` until `expires_at` (empty: until
    revoked) unless revoked; revoking keeps the row and records who, when and why. While in
    force it opens unblinded exports and the allocation of every participant of the trial to
    its recipient.
    """

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("granted_at")),
                name="dsmb_release_expires_after_grant",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_by__isnull=False),
                name="dsmb_release_revoked_by_someone",
            ),
        ]
        indexes = [models.Index(fields=["trial", "recipient"], name="dsmb_release_trial_recipient")]
        ordering = ["-granted_at", "-pk"]

    def __str__(self) -> str:
        return f"DSMB release #{self.pk} ({self.trial_id})"

    def is_active(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.granted_at <= now
            and (self.expires_at is None or now < self.expires_at)
        )


class ArmGround(models.TextChoices):
    """Why a person may see a participant's arm; every read names one."""

    PHARMACY = "pharmacy", _("Pharmacist at the participant's site")
    TRIAL_LOCK = "trial_lock", _("Trial locked")
    DSMB_RELEASE = "dsmb_release", _("DSMB release")
    EMERGENCY = "emergency", _("Emergency unblinding of the participant")


class ReadChannel(models.TextChoices):
    API = "api", _("API")
    PAGE = "page", _("Page")
    EXPORT = "export", _("Export")
    FORM = "form", _("Form data")


class AllocationRead(models.Model):
    """One reading of a participant's arm by a person: who (as named at that moment), when, on
    which ground and by which path. Written in the request that showed the arm; never changed
    or removed."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)
    full_name = models.CharField(max_length=300, blank=True)
    ground = models.CharField(max_length=16, choices=ArmGround.choices)
    dsmb_release = models.ForeignKey(
        DsmbRelease, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=ReadChannel.choices)
    path = models.CharField(
        max_length=300, blank=True, help_text="The address or command that showed the arm."
    )
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ground__in=ArmGround.values), name="allocation_read_ground_known"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=ReadChannel.values), name="allocation_read_channel_known"
            ),
            models.CheckConstraint(
                condition=Q(ground=ArmGround.DSMB_RELEASE, dsmb_release__isnull=False)
                | (~Q(ground=ArmGround.DSMB_RELEASE) & Q(dsmb_release__isnull=True)),
                name="allocation_read_release_named",
            ),
        ]
        indexes = [
            models.Index(fields=["trial", "-at"], name="allocation_read_trial"),
            models.Index(fields=["participant", "-at"], name="allocation_read_participant"),
        ]
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.username} read the arm of participant {self.participant_id} ({self.ground})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only: an audit record that could be edited would prove nothing.
        if not self._state.adding:
            raise DomainError("A record of an allocation read is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise DomainError("A record of an allocation read is never removed.")

"""Allocation lists and slots, emergency unblinding, DSMB releases and the record of arm reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrf.errors import DomainError
from ecrf.history import audit_history
from trials.models.participants import Participant
from trials.models.trial import Trial


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

"""A trial and the protocol versions that say what it collects and how."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ecrf.history import audit_history


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

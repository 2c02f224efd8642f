"""Dose-escalation cohorts and the safety reviews that gate them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from trials.models.trial import Trial


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

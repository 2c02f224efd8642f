"""An alert: something came due and was not done; site staff acknowledge it, the data resolve it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from ecrf.messages import shown
from trials.models import Participant, Site, Trial


class AlertKind(models.TextChoices):
    VISIT_OVERDUE = "visit_overdue", _("Visit overdue")
    VISIT_MISSED = "visit_missed", _("Visit missed")
    SAE_LATE = "sae_late", _("SAE report late")
    SUSAR_LATE = "susar_late", _("SUSAR report late")
    SUSAR_FOLLOWUP_LATE = "susar_followup_late", _("SUSAR follow-up report late")
    PREGNANCY_LATE = "pregnancy_late", _("Pregnancy report late")
    PREGNANCY_OUTCOME = "pregnancy_outcome", _("Pregnancy outcome to follow up")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Alert(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="alerts")
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    adverse_event = models.ForeignKey(
        "safety.AdverseEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
    )
    pregnancy_report = models.ForeignKey(
        "safety.PregnancyReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    # One alert per finding, whoever raises it and however often: "visit_missed:1234".
    source_key = models.CharField(max_length=60, unique=True)
    occurred_at = models.DateTimeField(
        help_text="When the deadline passed, not when a job noticed."
    )
    created_at = models.DateTimeField()
    message = models.TextField(help_text="In English, for e-mail, exports and the audit trail.")
    # The message as a template and parameters, worded in the reader's language when shown.
    # Empty for alerts raised before messages were kept this way: they show `message`.
    message_template = models.TextField(blank=True)
    message_params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolution_template = models.TextField(blank=True)
    resolution_params = models.JSONField(default=dict, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        indexes = [
            models.Index(fields=["site", "status"], name="alert_site_status"),
            models.Index(
                fields=["created_at"],
                condition=models.Q(emailed_at__isnull=True),
                name="alert_not_emailed",
            ),
        ]
        ordering = ["-occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.participant}"

    @property
    def shown_message(self) -> str:
        """The message in the reader's language; the visit's name from the protocol's texts."""
        from trials.texts import protocol_text

        return shown(
            self.message,
            self.message_template,
            self.message_params,
            protocol=lambda kind, code, english: protocol_text(
                self.participant, kind, code, english
            ),
        )

    @property
    def shown_resolution(self) -> str:
        """The resolution in the reader's language."""
        return shown(self.resolution, self.resolution_template, self.resolution_params)

"""What every case report form shares: its participant and visit, entry state, version, warnings."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.models import Participant, ProtocolVersion
from visits.models import Visit


class EntryStatus(models.TextChoices):
    ENTERED = "entered", _("Entered")
    NOT_DONE = "not_done", _("Not done")


class CaseReportForm(models.Model):
    """Never deleted; `row_version` rejects a save based on a stale read."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    protocol_version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="+"
    )
    entry_status = models.CharField(
        max_length=10, choices=EntryStatus.choices, default=EntryStatus.ENTERED
    )
    not_done_reason = models.TextField(blank=True)
    row_version = models.PositiveIntegerField(default=1)
    warnings = models.JSONField(
        default=list, blank=True, help_text="Soft edit-check messages kept with the data."
    )
    entered_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True


class VisitForm(CaseReportForm):
    """A form collected once at a visit."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["visit"], name="%(app_label)s_%(class)s_once_per_visit")
        ]


class LogForm(CaseReportForm):
    """A running log of the participant (medications, events); a visit is optional."""

    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["participant"], name="%(app_label)s_%(class)s_ptcp")]

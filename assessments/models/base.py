"""What every case report form shares: its participant and visit, entry state, version, warnings."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from trials.models import Participant, ProtocolVersion
from visits.models import Visit

PARTIAL_DATE = RegexValidator(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$",
    "Give a date as YYYY, YYYY-MM or YYYY-MM-DD.",
)


class PartialDateField(models.CharField):
    """A date of which only the year, or year and month, may be known; never imputed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("validators", [PARTIAL_DATE])
        super().__init__(*args, **kwargs)


class EntryStatus(models.TextChoices):
    ENTERED = "entered", _("Entered")
    NOT_DONE = "not_done", _("Not done")


def to_verify_index() -> models.Index:
    """Entered records by last change: the review queue reads the forms to verify of each type
    in this order, only as far as the page it shows. Named by class alone to stay within the
    30 characters an index name may have."""
    return models.Index(
        fields=["updated_at", "id"],
        name="%(class)s_to_sdv",
        condition=models.Q(entry_status=EntryStatus.ENTERED),
    )


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

    history = audit_history(inherit=True)

    class Meta:
        abstract = True


class VisitForm(CaseReportForm):
    """A form collected once at a visit."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True
        indexes = [to_verify_index()]
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
        indexes = [
            models.Index(fields=["participant"], name="%(app_label)s_%(class)s_ptcp"),
            to_verify_index(),
        ]


class RepeatingVisitForm(CaseReportForm):
    """A form recorded several times at one visit, e.g. at each infusion timepoint."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True
        indexes = [
            models.Index(fields=["visit"], name="%(app_label)s_%(class)s_visit"),
            to_verify_index(),
        ]


class ParticipantForm(CaseReportForm):
    """A form recorded once per participant, e.g. end of study."""

    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True
        indexes = [to_verify_index()]
        constraints = [
            models.UniqueConstraint(
                fields=["participant"], name="%(app_label)s_%(class)s_once_per_participant"
            )
        ]

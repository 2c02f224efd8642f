"""Visits of a participant, made from the protocol schedule, with their windows."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from trials.models import Participant, ProtocolVersion


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    OPEN = "open", _("Open (in window)")
    OVERDUE = "overdue", _("Overdue")
    MISSED = "missed", _("Missed")
    COMPLETED = "completed", _("Completed")
    NOT_DONE = "not_done", _("Not done")


OPEN_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.OPEN, VisitStatus.OVERDUE)


class Visit(models.Model):
    """One visit of one participant. Unscheduled visits hang off a parent visit."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="visits")
    protocol_version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20)
    visit_number = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        help_text="SDTM VISITNUM; unscheduled visits are n.01, n.02…",
    )
    day = models.IntegerField(
        null=True, blank=True, help_text="Protocol day (Day 0 = first infusion)."
    )
    target_date = models.DateField(null=True, blank=True)
    window_opens_at = models.DateTimeField(null=True, blank=True)
    window_closes_at = models.DateTimeField(null=True, blank=True)
    # From the start of the day after the target date, a visit not yet recorded is overdue.
    overdue_at = models.DateTimeField(null=True, blank=True)
    # When the visit became overdue or missed: the deadline that passed, not the job's run.
    flagged_at = models.DateTimeField(null=True, blank=True)
    # A visit whose flagging failed is retried after this instant, without holding up others.
    flag_deferred_until = models.DateTimeField(null=True, blank=True)
    dosing = models.BooleanField(default=False)
    optional = models.BooleanField(default=False)
    forms = models.JSONField(default=list, help_text="Codes of the forms this visit collects.")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="unscheduled"
    )
    status = models.CharField(
        max_length=16, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED
    )
    actual_date = models.DateField(null=True, blank=True)
    out_of_window = models.BooleanField(default=False)
    reason = models.TextField(blank=True, help_text="Why unscheduled, or why not done.")
    # The codes of `forms` that may still lack a record: all of them when the visit is made,
    # each struck off once a record of it is saved (records are never deleted). The home
    # page's "forms missing" reads only visits with some left, so that it does not check every
    # completed visit; it is bookkeeping, not data, and so is not in the history.
    forms_pending = models.JSONField(default=list, blank=True)

    history = audit_history(excluded_fields=["forms_pending"])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_number"], name="visit_number_unique_per_participant"
            ),
        ]
        # The jobs look for open visits whose deadline passed; these partial indexes hold only
        # the open visits, so they stay small however many visits are completed.
        indexes = [
            models.Index(
                fields=["window_closes_at"],
                condition=Q(status__in=["scheduled", "open", "overdue"]),
                name="visit_open_window_closes",
            ),
            models.Index(
                fields=["overdue_at"],
                condition=Q(status__in=["scheduled", "open"]),
                name="visit_open_overdue_at",
            ),
            models.Index(
                fields=["window_opens_at"],
                condition=Q(status="scheduled"),
                name="visit_scheduled_opens",
            ),
            # Completed visits with forms that may still lack a record, oldest first.
            models.Index(
                fields=["actual_date", "participant", "id"],
                condition=Q(status="completed") & ~Q(forms_pending=[]),
                name="visit_completed_forms_pending",
            ),
        ]
        ordering = ["participant", "visit_number"]

    def __str__(self) -> str:
        return f"{self.participant} {self.code}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and not self.forms_pending:
            self.forms_pending = list(self.forms)
        super().save(*args, **kwargs)

    @property
    def is_unscheduled(self) -> bool:
        return self.parent_id is not None

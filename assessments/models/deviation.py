"""The protocol deviation log: entered by staff, or drafted by a job and confirmed by staff."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from assessments.models.base import LogForm, to_verify_index
from ecrf.messages import shown


class DeviationCategory(models.TextChoices):
    VISIT_WINDOW = "visit_window", _("Visit out of window")
    MISSED_VISIT = "missed_visit", _("Missed visit")
    DOSING = "dosing", _("Dosing")
    ELIGIBILITY = "eligibility", _("Eligibility")
    CONSENT = "consent", _("Consent")
    PROCEDURE = "procedure", _("Procedure")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")


class Origin(models.TextChoices):
    MANUAL = "manual", _("Entered by staff")
    AUTOMATIC = "automatic", _("Detected automatically")


class DeviationState(models.TextChoices):
    DRAFT = "draft", _("Draft (to be confirmed)")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class ProtocolDeviation(LogForm):
    """One deviation; the optional visit (the log's `visit`) is the one it concerns."""

    occurred_on = models.DateField(_("occurred on"), null=True, blank=True)
    category = models.CharField(
        _("category"), max_length=16, choices=DeviationCategory.choices, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    # A drafted description as a template and parameters (ecrf.messages), worded in the
    # reader's language when shown; `description` keeps it in English. Empty for a description
    # staff wrote, or one drafted before descriptions were kept this way.
    description_template = models.TextField(blank=True)
    description_params = models.JSONField(default=dict, blank=True)
    severity = models.CharField(_("severity"), max_length=6, choices=Severity.choices, blank=True)
    origin = models.CharField(
        _("origin"), max_length=10, choices=Origin.choices, default=Origin.MANUAL
    )
    state = models.CharField(
        _("state"), max_length=10, choices=DeviationState.choices, default=DeviationState.DRAFT
    )
    # What an automatic check found, e.g. "visit_window:1234": the same finding drafts one
    # deviation however often the job runs.
    source_key = models.CharField(_("source of an automatic deviation"), max_length=100, blank=True)
    resolution_note = models.TextField(_("why it was dismissed"), blank=True)

    @property
    def shown_description(self) -> str:
        """The description in the reader's language; a visit's name from the protocol's
        texts."""
        from trials.texts import protocol_text

        def protocol(kind: str, code: str, english: str) -> str:
            # English needs no look-up, nor the participant's row read for it.
            if (translation.get_language() or "en").startswith("en"):
                return english
            return protocol_text(self.participant, kind, code, english)

        return shown(
            self.description, self.description_template, self.description_params, protocol=protocol
        )

    class Meta(LogForm.Meta):
        verbose_name = _("protocol deviation")
        # The inherited name would pass the 30 characters an index name may have.
        indexes = [
            models.Index(fields=["participant"], name="assessments_deviation_ptcp"),
            to_verify_index(),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "source_key"],
                condition=~Q(source_key=""),
                name="assessments_deviation_source_once",
                violation_error_message="This finding already has a deviation.",
            )
        ]

"""Queries on form data, source data verification, e-signatures and locks."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from ecrf.messages import shown
from trials.models import Participant, Site, Trial
from visits.models import Visit


class FormRef(models.Model):
    """Points at one form record (any form model) of one participant."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    form_code = models.CharField(max_length=30, blank=True)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    record = GenericForeignKey("content_type", "object_id")

    class Meta:
        abstract = True


class QueryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class ResponseCode(models.TextChoices):
    DATA_CORRECTED = "data_corrected", _("Data corrected")
    CONFIRMED = "confirmed_correct", _("Confirmed correct")
    NOT_AVAILABLE = "not_available", _("Data not available")
    OTHER = "other", _("Other")


class DataQuery(FormRef):
    """A data clarification on one field of a form record, or on the whole form."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    field_name = models.CharField(max_length=60, blank=True, help_text="Empty: the whole form.")
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    automatic = models.BooleanField(default=False)
    # An automatic query is raised once per soft-check finding, however often the form is saved.
    source_key = models.CharField(max_length=200, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opener_role = models.CharField(max_length=32)
    opened_at = models.DateTimeField()
    text = models.TextField()
    # The system's text (an automatic query) as a template and parameters, so that each reader
    # reads it in their language; `text` keeps it in English. Empty for a person's text.
    text_template = models.TextField(blank=True)
    text_params = models.JSONField(default=dict, blank=True)
    response_code = models.CharField(max_length=20, choices=ResponseCode.choices, blank=True)
    correction_history_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The history record of the correction, when corrected."
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_key"], condition=~Q(source_key=""), name="query_source_once"
            )
        ]
        indexes = [
            models.Index(fields=["site", "status"], name="query_site_status"),
            models.Index(fields=["content_type", "object_id"], name="query_record"),
        ]
        ordering = ["opened_at", "pk"]

    def __str__(self) -> str:
        return f"Query {self.pk} on {self.form_code} {self.field_name}".strip()

    @property
    def shown_text(self) -> str:
        """The text in the reader's language."""
        return shown(self.text, self.text_template, self.text_params)


class QueryAction(models.TextChoices):
    OPEN = "open", _("Opened")
    ANSWER = "answer", _("Answered")
    CLOSE = "close", _("Closed")
    REQUERY = "requery", _("Re-queried")
    REOPEN = "reopen", _("Re-opened")


class QueryMessage(models.Model):
    """One step of a query: who did what, when, with which text."""

    query = models.ForeignKey(DataQuery, on_delete=models.PROTECT, related_name="messages")
    action = models.CharField(max_length=10, choices=QueryAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32)
    text = models.TextField()
    text_template = models.TextField(blank=True)
    text_params = models.JSONField(default=dict, blank=True)
    response_code = models.CharField(max_length=20, choices=ResponseCode.choices, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["query", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor}"

    @property
    def shown_text(self) -> str:
        """The text in the reader's language."""
        return shown(self.text, self.text_template, self.text_params)


class SourceVerification(FormRef):
    """A monitor verified a form record against source at a given version of it."""

    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField()
    row_version = models.PositiveIntegerField()
    # Verified while queries on the form were unresolved: how many, and the monitor's reason
    # for verifying all the same (empty when none was open).
    open_queries = models.PositiveIntegerField(default=0)
    override_reason = models.TextField(blank=True)
    # The fields verified so far (the protocol's SDV plan says which are required); `complete`
    # once every required field is. A mark without field names covers the whole form.
    verified_fields = models.JSONField(default=list, blank=True)
    complete = models.BooleanField(default=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        indexes = [models.Index(fields=["content_type", "object_id"], name="sdv_record")]

    def __str__(self) -> str:
        return f"SDV of {self.form_code} {self.object_id}"


class SignatureScope(models.TextChoices):
    FORM = "form", _("Form")
    VISIT = "visit", _("Visit")
    CASEBOOK = "casebook", _("Casebook")


SIGNATURE_MEANING = "I confirm these data are accurate and complete."


class Signature(FormRef):
    """An investigator's electronic signature of a form, a visit or a whole casebook."""

    scope = models.CharField(max_length=10, choices=SignatureScope.choices)
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=200, default=SIGNATURE_MEANING)
    signed_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        indexes = [models.Index(fields=["participant", "scope"], name="signature_scope")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} signed by {self.printed_name}"


class LockLevel(models.TextChoices):
    FORM = "form", _("Form")
    PARTICIPANT = "participant", _("Participant")
    SITE = "site", _("Site")
    TRIAL = "trial", _("Trial (database lock)")


class Lock(models.Model):
    """Data under an active lock cannot change by any path until a data manager unlocks it."""

    level = models.CharField(max_length=12, choices=LockLevel.choices)
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    form_code = models.CharField(max_length=30, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField()
    reason = models.TextField()
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        indexes = [
            models.Index(
                fields=["trial"], condition=Q(unlocked_at__isnull=True), name="lock_active_trial"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} lock"

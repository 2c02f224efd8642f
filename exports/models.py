"""Export jobs with their progress and manifest."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from exports.base import FORMATS, RAW_LAYOUTS
from trials.models import DsmbRelease, ProtocolVersion, Trial


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (SDTM-style datasets)")
    XPT = "xpt", _("SAS transport (XPT)")
    ODM = "odm", _("CDISC ODM 1.3.2 XML")


assert tuple(ExportFormat.values) == FORMATS, "ExportFormat must list exports.base.FORMATS"


class ExportRawLayout(models.TextChoices):
    WIDE = "wide", _("Wide: one row per record, one column per field")
    LONG = "long", _("Long: one row per field value")


assert tuple(ExportRawLayout.values) == RAW_LAYOUTS, "ExportRawLayout must list RAW_LAYOUTS"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class JobProgress:
    """What a page says of a job's progress: finished or not, and the whole percent done."""

    status: str
    progress_units: tuple[str, str] = ("units_done", "units_total")

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)

    @property
    def percent(self) -> int:
        """Whole percent written; 100 once done, whatever the counts say."""
        if self.status == ExportStatus.DONE:
            return 100
        done, total = (getattr(self, name) for name in self.progress_units)
        if total <= 0:
            return 0
        return min(100, done * 100 // total)


class Export(JobProgress, models.Model):
    """One requested export: a trial as it stood at `as_of`, in one format, blinded or not.

    The status moves queued -> running -> done | failed, each step a compare-and-set with its
    own history record (who and when). Progress (`units_done`) is written without history.
    `files_dir` is relative to the exports root and is set only when the export is done, so a
    failed or unfinished export never offers files.
    """

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    protocol_version = models.ForeignKey(
        ProtocolVersion,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The protocol version in force at the as-of instant.",
    )
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    as_of = models.DateTimeField(help_text="The instant the data are rebuilt as of.")
    raw_layout = models.CharField(
        max_length=4,
        blank=True,
        default="",
        choices=ExportRawLayout.choices,
        help_text="Raw tables beside the datasets, wide or long; empty: none.",
    )
    blinded = models.BooleanField(default=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    dsmb_release = models.ForeignKey(
        DsmbRelease,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exports",
        help_text="The release that allowed this unblinded export before trial lock.",
    )
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    units_total = models.PositiveBigIntegerField(
        default=0, help_text="Rows (CSV, XPT) or data points (ODM) to write."
    )
    units_done = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    files_dir = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    history = audit_history(excluded_fields=["units_done"])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(format__in=FORMATS), name="export_format_known"),
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="export_status_known"
            ),
            models.CheckConstraint(
                condition=Q(raw_layout="") | Q(raw_layout__in=RAW_LAYOUTS),
                name="export_raw_layout_known",
            ),
            models.CheckConstraint(
                condition=Q(blinded=False) | Q(dsmb_release__isnull=True),
                name="export_release_only_unblinded",
            ),
            models.CheckConstraint(
                condition=Q(status=ExportStatus.DONE) | Q(files_dir=""),
                name="export_files_only_when_done",
            ),
        ]
        indexes = [models.Index(fields=["trial", "-created_at"], name="export_trial_created")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Export #{self.pk} {self.format} ({'blinded' if self.blinded else 'unblinded'})"

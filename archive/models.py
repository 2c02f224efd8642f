"""The site archive job: every casebook of a site, as of its lock, with a manifest."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ecrf.history import audit_history
from exports.models import ExportStatus, JobProgress
from review.models import Lock
from trials.models import Site, Trial


class SiteArchive(JobProgress, models.Model):
    """One site's archive: a casebook PDF per participant and a manifest of their SHA-256,
    as the data stood when `lock` was applied (`as_of`).

    The status moves queued -> running -> done | failed, each step a compare-and-set with its
    own history record; progress (`participants_done`) is written without history. `files_dir`
    (relative to the exports root) is set only once every file is written.
    """

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    lock = models.ForeignKey(
        Lock,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The trial or site lock the archive was made under.",
    )
    as_of = models.DateTimeField(help_text="The instant of the lock: the data archived.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    participants_total = models.PositiveIntegerField(default=0)
    participants_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    files_dir = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    history = audit_history(excluded_fields=["participants_done"])
    progress_units = ("participants_done", "participants_total")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="site_archive_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status=ExportStatus.DONE) | Q(files_dir=""),
                name="site_archive_files_only_when_done",
            ),
        ]
        indexes = [models.Index(fields=["site", "-created_at"], name="site_archive_site_created")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Site archive #{self.pk} {self.site_id}"

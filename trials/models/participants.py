"""Participants with their consents and eligibility answers, and the numbers a site hands out."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from trials.models.cohorts import Cohort
from trials.models.sites import Site
from trials.models.trial import ProtocolVersion, Trial


class SiteCounter(models.Model):
    """Last number handed out per site and kind; numbers are never reused."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "kind"], name="site_counter_kind")]

    def __str__(self) -> str:
        return f"{self.site.code} {self.kind}: {self.last_value}"


class ParticipantStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SCREEN_FAILED = "screen_failed", _("Screen failed")
    ELIGIBLE = "eligible", _("Eligible")
    RANDOMIZED = "randomized", _("Randomized")
    ENROLLED = "enrolled", _("Enrolled in cohort")
    ON_STUDY = "on_study", _("On study")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class Participant(models.Model):
    """A person screened for a trial at one site. Never deleted; withdrawal keeps all data."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="participants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    protocol_version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="+"
    )
    screening_number = models.CharField(max_length=20)
    # NULL, not "", until assigned: the per-trial unique constraint must ignore unassigned rows.
    subject_id = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    sex = models.CharField(max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField()
    status = models.CharField(
        max_length=20, choices=ParticipantStatus.choices, default=ParticipantStatus.SCREENING
    )
    registered_at = models.DateTimeField()
    screen_failure_reason = models.TextField(blank=True)
    eligibility_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    eligibility_confirmed_at = models.DateTimeField(null=True, blank=True)
    stage_code = models.CharField(max_length=20, blank=True)
    randomization_number = models.CharField(max_length=20, blank=True)
    randomized_at = models.DateTimeField(null=True, blank=True)
    cohort = models.ForeignKey(
        Cohort, on_delete=models.PROTECT, null=True, blank=True, related_name="participants"
    )
    day0 = models.DateField(null=True, blank=True, help_text="Protocol Day 0: first infusion.")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    unblinded_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "screening_number"], name="participant_screening_number"
            ),
            models.UniqueConstraint(
                fields=["trial", "subject_id"],
                condition=Q(subject_id__isnull=False),
                name="participant_subject_id",
            ),
        ]
        indexes = [models.Index(fields=["trial", "site", "status"])]
        ordering = ["trial", "site", "screening_number"]

    def __str__(self) -> str:
        return self.subject_id or self.screening_number

    @property
    def identifier(self) -> str:
        return self.subject_id or self.screening_number


class Consent(models.Model):
    """Informed consent given by a participant to one version of the consent form."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    form_version = models.CharField(max_length=40)
    consent_date = models.DateField()
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        ordering = ["participant", "consent_date", "pk"]

    def __str__(self) -> str:
        return f"Consent {self.form_version} of {self.participant} on {self.consent_date}"


class CriterionKind(models.TextChoices):
    INCLUSION = "inclusion", _("Inclusion")
    EXCLUSION = "exclusion", _("Exclusion")


class EligibilityAnswer(models.Model):
    """One criterion of the checklist: an inclusion met, or an exclusion that applies."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="eligibility_answers"
    )
    criterion_code = models.CharField(max_length=10)
    kind = models.CharField(max_length=10, choices=CriterionKind.choices)
    answer = models.BooleanField(
        help_text="Inclusion: criterion met. Exclusion: criterion applies."
    )
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "criterion_code"], name="eligibility_answer_once"
            )
        ]
        ordering = ["participant", "kind", "criterion_code"]

    def __str__(self) -> str:
        return f"{self.participant} {self.criterion_code}: {self.answer}"


class EligibilityReconfirmation(models.Model):
    """A criterion confirmed again on the day of an event (randomization) as the protocol
    asks, e.g. an ECG criterion that must hold on the day of randomization."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="eligibility_reconfirmations"
    )
    criterion_code = models.CharField(max_length=10)
    kind = models.CharField(max_length=10, choices=CriterionKind.choices)
    answer = models.BooleanField(
        help_text="Inclusion: criterion still met. Exclusion: criterion now applies."
    )
    comment = models.TextField(blank=True)
    confirmed_at = models.DateTimeField()
    # The day at the site: the protocol's "on the day of randomization" is the site's day.
    site_date = models.DateField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = audit_history()

    class Meta:
        ordering = ["participant", "criterion_code", "confirmed_at"]

    def __str__(self) -> str:
        return f"{self.participant} {self.criterion_code} on {self.site_date}: {self.answer}"

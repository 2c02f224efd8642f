"""How and when the participant's time in the study ended."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import ParticipantForm


class EndStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")
    DEATH = "death", _("Death")
    OTHER = "other", _("Other")


class EndOfStudy(ParticipantForm):
    """Once per participant."""

    status = models.CharField(_("status"), max_length=20, choices=EndStatus.choices, blank=True)
    last_contact_date = models.DateField(_("last contact date"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta(ParticipantForm.Meta):
        verbose_name = _("end of study")
        verbose_name_plural = _("end of study")

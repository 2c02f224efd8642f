"""Vital signs and weight, once at a visit or at each infusion timepoint of a dosing visit."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import RepeatingVisitForm


class Timepoint(models.TextChoices):
    VISIT = "visit", _("Visit")
    PRE_DOSE = "pre_dose", _("Pre-dose")
    MIN_15 = "15min", _("15 min after start of infusion")
    MIN_30 = "30min", _("30 min after start of infusion")
    MIN_60 = "60min", _("60 min after start of infusion")
    H_2 = "2h", _("2 h after start of infusion")


# The order of VSTPTNUM in exports; infusion timepoints exist only at a dosing visit.
INFUSION_TIMEPOINTS = (
    Timepoint.PRE_DOSE,
    Timepoint.MIN_15,
    Timepoint.MIN_30,
    Timepoint.MIN_60,
    Timepoint.H_2,
)


class VitalSigns(RepeatingVisitForm):
    """One set of vital signs at one timepoint of a visit."""

    timepoint = models.CharField(
        _("timepoint"), max_length=10, choices=Timepoint.choices, blank=True
    )
    measured_at = models.DateTimeField(_("measured at"), null=True, blank=True)
    systolic = models.PositiveSmallIntegerField(_("systolic BP (mmHg)"), null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(_("diastolic BP (mmHg)"), null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(
        _("heart rate (beats/min)"), null=True, blank=True
    )
    temperature_c = models.DecimalField(
        _("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    respiratory_rate = models.PositiveSmallIntegerField(
        _("respiratory rate (breaths/min)"), null=True, blank=True
    )
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )

    class Meta(RepeatingVisitForm.Meta):
        verbose_name = _("vital signs")
        verbose_name_plural = _("vital signs")
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "timepoint"],
                name="assessments_vitalsigns_once_per_timepoint",
                violation_error_message="Vital signs for this timepoint are already entered "
                "at this visit; change that record instead.",
            )
        ]

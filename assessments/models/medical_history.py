"""SLE and lupus nephritis history taken at selection, with the ISN/RPS class of the biopsy."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import PartialDateField, VisitForm


class Classification(models.TextChoices):
    ACR_1997 = "acr1997", _("ACR 1997")
    SLICC_2012 = "slicc2012", _("SLICC 2012")
    BOTH = "both", _("Both")


class IsnRpsClass(models.TextChoices):
    I = "I", "I"  # noqa: E741 - the pathology class is called I
    II = "II", "II"
    III = "III", "III"
    IV = "IV", "IV"
    V = "V", "V"
    VI = "VI", "VI"
    III_V = "III+V", "III + V"
    IV_V = "IV+V", "IV + V"


class MedicalHistory(VisitForm):
    """SLE diagnosis and the kidney biopsy that qualifies the participant."""

    sle_diagnosis_date = PartialDateField(_("SLE diagnosis date"))
    classification = models.CharField(
        _("classification criteria met"), max_length=10, choices=Classification.choices, blank=True
    )
    ln_biopsy_date = models.DateField(_("lupus nephritis biopsy date"), null=True, blank=True)
    isn_rps_class = models.CharField(
        _("ISN/RPS class"), max_length=6, choices=IsnRpsClass.choices, blank=True
    )
    relapse = models.BooleanField(_("enters with a moderate/severe relapse"), null=True, blank=True)

    # Derived: completed months from the biopsy to the selection visit.
    biopsy_months_before_selection = models.SmallIntegerField(null=True, blank=True, editable=False)

    class Meta(VisitForm.Meta):
        verbose_name = _("medical history")
        verbose_name_plural = _("medical history")

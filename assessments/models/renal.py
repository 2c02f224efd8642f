"""The renal assessment: UPCR, creatinine and sediment as entered; eGFR and response derived."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import VisitForm


class SpecimenType(models.TextChoices):
    URINE_24H = "24h_urine", _("24-hour urine")
    SPOT = "spot_urine", _("Spot urine")


class UpcrUnit(models.TextChoices):
    MG_MMOL = "mg/mmol", "mg/mmol"
    MG_G = "mg/g", "mg/g"
    G_G = "g/g", "g/g"
    MG_MG = "mg/mg", "mg/mg"


class FailureEvent(models.TextChoices):
    """Treatment failure the site records on a renal assessment; death comes from the
    end-of-study form and a sustained doubling of creatinine is derived."""

    RENAL_FLARE = "renal_flare", _("Renal flare")
    DIALYSIS = "dialysis", _("Dialysis")
    KIDNEY_TRANSPLANT = "kidney_transplant", _("Kidney transplant")


class CreatinineUnit(models.TextChoices):
    MG_DL = "mg/dL", "mg/dL"
    UMOL_L = "umol/L", "µmol/L"


class RenalAssessment(VisitForm):
    """UPCR and creatinine as the lab reported them; everything compared is derived from them."""

    # Inputs are nullable: a form marked not done stores none; edit checks require them.
    assessment_date = models.DateField(_("assessment date"), null=True, blank=True)
    specimen_type = models.CharField(
        _("specimen type"), max_length=12, choices=SpecimenType.choices, blank=True
    )
    upcr_value = models.DecimalField(
        _("UPCR as reported"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    upcr_unit = models.CharField(_("UPCR unit"), max_length=8, choices=UpcrUnit.choices, blank=True)
    serum_creatinine_value = models.DecimalField(
        _("serum creatinine as reported"), max_digits=10, decimal_places=4, null=True, blank=True
    )
    creatinine_unit = models.CharField(
        _("creatinine unit"), max_length=8, choices=CreatinineUnit.choices, blank=True
    )
    urine_rbc_hpf = models.DecimalField(
        _("urine red blood cells per hpf"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    urine_wbc_hpf = models.DecimalField(
        _("urine white blood cells per hpf"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    rbc_casts = models.BooleanField(_("RBC casts"), null=True, blank=True)
    cellular_casts = models.BooleanField(_("cellular casts"), null=True, blank=True)
    # Treatment failure since the last assessment: the event and its date (dialysis: its start).
    failure_event = models.CharField(
        _("treatment failure event"), max_length=20, choices=FailureEvent.choices, blank=True
    )
    failure_event_date = models.DateField(_("date of the event"), null=True, blank=True)
    dialysis_end_date = models.DateField(
        _("dialysis end date (blank while ongoing)"), null=True, blank=True
    )

    # Derived on the server; never typed. UPCR in g/g is kept to 10 decimals for display and
    # export only: responses are decided on the exact conversion of the value as entered.
    upcr_g_g = models.DecimalField(
        max_digits=20, decimal_places=10, null=True, blank=True, editable=False
    )
    creatinine_mg_dl = models.DecimalField(
        max_digits=14, decimal_places=6, null=True, blank=True, editable=False
    )
    age_years = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    egfr = models.DecimalField(
        "eGFR (mL/min/1.73 m²)",
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        editable=False,
    )
    egfr_equation = models.CharField(max_length=40, blank=True, editable=False)
    egfr_version = models.CharField(max_length=10, blank=True, editable=False)
    response_baseline_date = models.DateField(null=True, blank=True, editable=False)
    response_week = models.SmallIntegerField(null=True, blank=True, editable=False)
    response_category = models.CharField(max_length=8, blank=True, editable=False)
    response_rule_set = models.CharField(max_length=20, blank=True, editable=False)
    response_version = models.CharField(max_length=20, blank=True, editable=False)
    response_provisional = models.BooleanField(null=True, blank=True, editable=False)
    response_reasons = models.JSONField(default=list, blank=True, editable=False)
    response_note = models.TextField(blank=True, editable=False)
    secondary_responses = models.JSONField(default=dict, blank=True, editable=False)

    class Meta(VisitForm.Meta):
        verbose_name = _("renal assessment")

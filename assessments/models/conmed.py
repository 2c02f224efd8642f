"""The concomitant medication log: verbatim and coded drug, dose, dates, and derived values."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import LogForm, PartialDateField, to_verify_index


class MedicationCategory(models.TextChoices):
    GLUCOCORTICOID = "glucocorticoid", _("Glucocorticoid")
    IMMUNOSUPPRESSANT = "immunosuppressant", _("Immunosuppressant")
    ANTIMALARIAL = "antimalarial", _("Antimalarial")
    ACE_ARB = "ace_arb", _("ACE inhibitor / angiotensin receptor blocker")
    RESCUE = "rescue", _("Rescue therapy")
    OTHER = "other", _("Other")


class DoseUnit(models.TextChoices):
    MG = "mg", "mg"
    G = "g", "g"
    MCG = "mcg", "µg"
    MG_KG = "mg/kg", "mg/kg"
    MG_M2 = "mg/m2", "mg/m²"
    IU = "IU", "IU"
    ML = "mL", "mL"
    TABLET = "tablet", _("tablet")
    OTHER = "other", _("other")


class Route(models.TextChoices):
    ORAL = "oral", _("Oral")
    INTRAVENOUS = "intravenous", _("Intravenous")
    SUBCUTANEOUS = "subcutaneous", _("Subcutaneous")
    INTRAMUSCULAR = "intramuscular", _("Intramuscular")
    TOPICAL = "topical", _("Topical")
    INHALED = "inhaled", _("Inhaled")
    RECTAL = "rectal", _("Rectal")
    OTHER = "other", _("Other")


class Frequency(models.TextChoices):
    ONCE = "once", _("Once (single dose)")
    DAILY = "daily", _("Daily (total daily dose)")
    TWICE_DAILY = "bid", _("Twice daily")
    THREE_TIMES_DAILY = "tid", _("Three times daily")
    WEEKLY = "weekly", _("Weekly")
    EVERY_2_WEEKS = "q2w", _("Every 2 weeks")
    MONTHLY = "monthly", _("Monthly")
    AS_NEEDED = "prn", _("As needed")
    OTHER = "other", _("Other")


class ConcomitantMedication(LogForm):
    """One medication of the participant, as the site records it; coding happens outside."""

    medication = models.CharField(_("medication (verbatim)"), max_length=200, blank=True)
    # Coded outside the eCRF (WHODrug is licensed) and re-imported by data management.
    coded_term = models.CharField(_("coded term"), max_length=200, blank=True)
    coded_code = models.CharField(_("coded code"), max_length=40, blank=True)
    dictionary_version = models.CharField(_("dictionary version"), max_length=40, blank=True)
    category = models.CharField(
        _("category"), max_length=20, choices=MedicationCategory.choices, blank=True
    )
    dose = models.DecimalField(_("dose"), max_digits=10, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(
        _("dose unit"), max_length=10, choices=DoseUnit.choices, blank=True
    )
    route = models.CharField(_("route"), max_length=16, choices=Route.choices, blank=True)
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=Frequency.choices, blank=True
    )
    indication = models.CharField(_("indication"), max_length=200, blank=True)
    start_date = PartialDateField(_("start date"))
    end_date = PartialDateField(_("end date"))
    ongoing = models.BooleanField(_("ongoing"), null=True, blank=True)
    given_as_rescue = models.BooleanField(
        _("given as rescue therapy"),
        null=True,
        blank=True,
        help_text="Answer for a drug on the rescue list that was not given as rescue (e.g. "
        "cyclophosphamide as standard induction).",
    )

    # Derived on the server.
    prednisone_equivalent_mg_day = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True, editable=False
    )
    prednisone_factor = models.DecimalField(
        max_digits=6, decimal_places=3, null=True, blank=True, editable=False
    )
    is_rescue = models.BooleanField(default=False, editable=False)

    class Meta(LogForm.Meta):
        verbose_name = _("concomitant medication")
        # The inherited name would pass the 30 characters an index name may have.
        indexes = [
            models.Index(fields=["participant"], name="assessments_conmed_ptcp"),
            to_verify_index(),
        ]

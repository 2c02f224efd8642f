"""The study infusion: Day-0 weight, administration, and the product record kept by pharmacy."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import VisitForm


class ReleaseResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative (no growth / not detected)")
    POSITIVE = "positive", _("Positive (growth / detected)")


class Infusion(VisitForm):
    """One infusion at a dosing visit. Product fields are entered by the pharmacist only and
    reveal the allocation; blinded users see that the infusion was given, its volume and times."""

    weight_kg = models.DecimalField(
        _("dosing weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    weight_date = models.DateField(_("date the weight was measured"), null=True, blank=True)
    given = models.BooleanField(_("study infusion given"), null=True, blank=True)
    not_given_reason = models.TextField(_("why the infusion was not given"), blank=True)
    volume_ml = models.DecimalField(
        _("volume infused (mL)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    start_time = models.DateTimeField(_("infusion start"), null=True, blank=True)
    stop_time = models.DateTimeField(_("infusion stop"), null=True, blank=True)
    interrupted = models.BooleanField(_("interrupted"), null=True, blank=True)
    interruption_details = models.TextField(_("interruption details"), blank=True)
    premedication_given = models.BooleanField(_("premedication given"), null=True, blank=True)
    premedication_details = models.TextField(_("premedication (drug, dose, time)"), blank=True)
    spo2_pre_pct = models.PositiveSmallIntegerField(
        _("oxygen saturation before the infusion (SpO2 %)"), null=True, blank=True
    )
    spo2_during_pct = models.PositiveSmallIntegerField(
        _("lowest oxygen saturation during the infusion (SpO2 %)"), null=True, blank=True
    )
    spo2_post_pct = models.PositiveSmallIntegerField(
        _("oxygen saturation after the infusion (SpO2 %)"), null=True, blank=True
    )

    # Pharmacy: allocation-revealing.
    kit_number = models.CharField(_("kit number"), max_length=40, blank=True)
    product_lot = models.CharField(_("product lot"), max_length=40, blank=True)
    cell_count_1e6 = models.DecimalField(
        _("viable cells administered (x10^6)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
    )
    viability_pct = models.DecimalField(
        _("viability (%)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    release_checks_passed = models.BooleanField(_("release checks passed"), null=True, blank=True)
    bag_id = models.CharField(
        _("product bag identifier"),
        max_length=40,
        blank=True,
        help_text=_("The identifier printed on the bag; a bag is given once only."),
    )
    donor_code = models.CharField(
        _("donor identifier code"),
        max_length=30,
        blank=True,
        help_text=_(
            "The donor code from the cell-processing facility only: never the donor's name, "
            "initials, date of birth or anything else that identifies the donor."
        ),
    )
    sterility_result = models.CharField(
        _("sterility test"), max_length=8, choices=ReleaseResult.choices, blank=True
    )
    endotoxin_eu_per_ml = models.DecimalField(
        _("endotoxin (EU/mL)"), max_digits=7, decimal_places=3, null=True, blank=True
    )
    mycoplasma_result = models.CharField(
        _("mycoplasma test"), max_length=8, choices=ReleaseResult.choices, blank=True
    )
    # Chain of custody, from receipt at the site to the infusion (times in the site's zone).
    received_at = models.DateTimeField(_("received at the site"), null=True, blank=True)
    received_by = models.CharField(_("received by"), max_length=80, blank=True)
    storage_acceptable = models.BooleanField(
        _("storage and temperature conditions acceptable"), null=True, blank=True
    )
    thawed_at = models.DateTimeField(_("thawed or prepared at"), null=True, blank=True)
    dispensed_at = models.DateTimeField(_("dispensed at"), null=True, blank=True)

    # Derived on the server; all but the calculator name reveal the allocation.
    dose_cells_per_kg = models.DecimalField(
        max_digits=14, decimal_places=1, null=True, blank=True, editable=False
    )
    target_million_cells = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True, editable=False
    )
    within_tolerance = models.BooleanField(null=True, blank=True, editable=False)
    deviation_required = models.BooleanField(null=True, blank=True, editable=False)
    dose_warnings = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Findings on the product and dose; kept apart from the warnings every "
        "reader sees because they reveal the allocation.",
    )
    dose_calculator = models.CharField(max_length=60, blank=True, editable=False)

    class Meta(VisitForm.Meta):
        verbose_name = _("study infusion")
        constraints = [
            *VisitForm.Meta.constraints,
            # A bag identifier is unique worldwide (ISBT 128): a bag is never given twice.
            models.UniqueConstraint(
                fields=["bag_id"],
                condition=~models.Q(bag_id=""),
                name="assessments_infusion_bag_once",
            ),
        ]

"""The study infusion: Day-0 weight, administration, and the product record kept by pharmacy."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import VisitForm


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

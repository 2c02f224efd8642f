"""The pregnancy test of a participant of childbearing potential."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models.base import VisitForm


class PregnancyTestType(models.TextChoices):
    URINE = "urine", _("Urine")
    SERUM = "serum", _("Serum")


class PregnancyResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")


class PregnancyTest(VisitForm):
    """Whether a test applies (childbearing potential) and, if so, its result."""

    applicable = models.BooleanField(_("of childbearing potential"), null=True, blank=True)
    test_date = models.DateField(_("test date"), null=True, blank=True)
    test_type = models.CharField(
        _("test type"), max_length=6, choices=PregnancyTestType.choices, blank=True
    )
    result = models.CharField(
        _("result"), max_length=8, choices=PregnancyResult.choices, blank=True
    )

    class Meta(VisitForm.Meta):
        verbose_name = _("pregnancy test")

"""Dictionary versions loaded by an operator, their terms, and the code given to each record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ecrf.history import audit_history
from trials.models import Participant, Trial


class Dictionary(models.TextChoices):
    MEDDRA = "meddra", _("MedDRA")
    WHODRUG = "whodrug", _("WHODrug Global (B3)")


class DictionaryVersion(models.Model):
    """One release of a licensed dictionary, loaded from its distribution files; the latest
    loaded release of each dictionary is the one new codes are taken from."""

    dictionary = models.CharField(max_length=10, choices=Dictionary.choices)
    version = models.CharField(max_length=40)
    language = models.CharField(max_length=30, blank=True)
    loaded_at = models.DateTimeField()
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    term_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["dictionary", "-loaded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["dictionary", "version"], name="coding_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_dictionary_display()} {self.version}"


class MeddraTerm(models.Model):
    """A lowest level term with its primary path up to the system organ class."""

    version = models.ForeignKey(DictionaryVersion, on_delete=models.PROTECT, related_name="+")
    llt_code = models.CharField(max_length=10)
    llt_name = models.CharField(max_length=200)
    # Lower-cased and trimmed, for exact matching of reported terms.
    match_key = models.CharField(max_length=200)
    current = models.BooleanField(default=True)
    pt_code = models.CharField(max_length=10)
    pt_name = models.CharField(max_length=200)
    hlt_code = models.CharField(max_length=10)
    hlt_name = models.CharField(max_length=200)
    hlgt_code = models.CharField(max_length=10)
    hlgt_name = models.CharField(max_length=200)
    soc_code = models.CharField(max_length=10)
    soc_name = models.CharField(max_length=200)

    class Meta:
        ordering = ["llt_name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "llt_code"], name="coding_llt_unique")
        ]
        indexes = [models.Index(fields=["version", "match_key"], name="coding_llt_match")]

    def __str__(self) -> str:
        return f"{self.llt_name} ({self.llt_code})"


class DrugTerm(models.Model):
    """A drug name of WHODrug with its record's preferred name and ATC code."""

    version = models.ForeignKey(DictionaryVersion, on_delete=models.PROTECT, related_name="+")
    # Drug record number, sequence number 1 and sequence number 2: 11 digits.
    drug_code = models.CharField(max_length=11)
    name = models.CharField(max_length=1500)
    match_key = models.CharField(max_length=1500)
    preferred_name = models.CharField(max_length=1500)
    atc_code = models.CharField(max_length=7, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "drug_code"], name="coding_drug_unique")
        ]
        indexes = [models.Index(fields=["version", "match_key"], name="coding_drug_match")]

    def __str__(self) -> str:
        return f"{self.name} ({self.drug_code})"


class CodedKind(models.TextChoices):
    ADVERSE_EVENT = "adverse_events", _("Adverse event")
    MEDICATION = "conmed", _("Medication")


class CodingMethod(models.TextChoices):
    AUTOMATIC = "automatic", _("Exact match, coded automatically")
    MANUAL = "manual", _("Chosen by the coder")


class Coding(models.Model):
    """The dictionary entry given to one adverse event or medication; a recoding changes this
    row with a reason, and its history keeps every earlier code."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=CodedKind.choices)
    record_id = models.PositiveBigIntegerField()
    verbatim = models.CharField(_("reported term"), max_length=200)
    version = models.ForeignKey(DictionaryVersion, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10, choices=CodingMethod.choices)
    code = models.CharField(_("code"), max_length=11)
    term = models.CharField(_("coded term"), max_length=1500)
    # MedDRA: the primary path above the lowest level term.
    pt_code = models.CharField(max_length=10, blank=True)
    pt_name = models.CharField(max_length=200, blank=True)
    hlt_code = models.CharField(max_length=10, blank=True)
    hlt_name = models.CharField(max_length=200, blank=True)
    hlgt_code = models.CharField(max_length=10, blank=True)
    hlgt_name = models.CharField(max_length=200, blank=True)
    soc_code = models.CharField(max_length=10, blank=True)
    soc_name = models.CharField(max_length=200, blank=True)
    # WHODrug: the record's preferred name and ATC code.
    preferred_name = models.CharField(max_length=1500, blank=True)
    atc_code = models.CharField(max_length=7, blank=True)
    coded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    coded_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        ordering = ["kind", "record_id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "record_id"], name="coding_one_per_record")
        ]

    def __str__(self) -> str:
        return f"{self.verbatim} → {self.term}"

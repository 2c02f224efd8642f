"""The adverse event log: what the site reports, what the sponsor assesses, the derived clocks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.models import LogForm, PartialDateField


class Causality(models.TextChoices):
    NOT_RELATED = "not_related", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


# "Reasonable possibility" of a causal relationship (EU 536/2014 Annex III).
RELATED_CAUSALITY = frozenset({Causality.POSSIBLE, Causality.PROBABLE, Causality.DEFINITE})


class ActionTaken(models.TextChoices):
    NONE = "none", _("None")
    DOSE_INTERRUPTED = "dose_interrupted", _("Dose interrupted")
    DRUG_WITHDRAWN = "drug_withdrawn", _("Drug withdrawn")
    # A single infusion already given cannot be changed.
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class Outcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered / resolved")
    RECOVERING = "recovering", _("Recovering / resolving")
    NOT_RECOVERED = "not_recovered", _("Not recovered / not resolved")
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("Recovered with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


class AesiCategory(models.TextChoices):
    INFUSION_REACTION = "infusion_reaction", _("Infusion or hypersensitivity reaction")
    INFECTION = "infection", _("Infection")
    THROMBOEMBOLISM = "thromboembolism", _("Thromboembolism")
    MALIGNANCY = "malignancy", _("Malignancy or ectopic tissue")
    ANTI_HLA = "anti_hla", _("Anti-HLA sensitisation")
    OTHER = "other", _("Other")


class Expectedness(models.TextChoices):
    EXPECTED = "expected", _("Expected")
    UNEXPECTED = "unexpected", _("Unexpected")


class CtcaeGrade(models.IntegerChoices):
    MILD = 1, _("1 - Mild")
    MODERATE = 2, _("2 - Moderate")
    SEVERE = 3, _("3 - Severe or medically significant")
    LIFE_THREATENING = 4, _("4 - Life-threatening")
    DEATH = 5, _("5 - Death related to the AE")


SERIOUSNESS_FIELDS: tuple[str, ...] = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "medically_important",
)
CODED_FIELDS: tuple[str, ...] = (
    "llt_code",
    "llt_name",
    "pt_code",
    "pt_name",
    "soc_code",
    "soc_name",
    "dictionary_version",
)
SPONSOR_FIELDS: tuple[str, ...] = (
    "sponsor_causality",
    "expectedness",
    "sponsor_awareness_at",
    "sponsor_fatal_awareness_at",
    "susar_reported_at",
    "susar_followup_reported_at",
)


class AdverseEvent(LogForm):
    """One adverse event of a participant, from consent on; follow-ups are history versions.

    No allocation lives here: a SUSAR is unblinded by the sponsor outside this form.
    """

    verbatim_term = models.CharField(_("reported term"), max_length=200, blank=True)
    # Left empty here: coded outside the eCRF (MedDRA is licensed) and re-imported.
    llt_code = models.CharField(_("MedDRA LLT code"), max_length=10, blank=True)
    llt_name = models.CharField(_("MedDRA LLT name"), max_length=200, blank=True)
    pt_code = models.CharField(_("MedDRA PT code"), max_length=10, blank=True)
    pt_name = models.CharField(_("MedDRA PT name"), max_length=200, blank=True)
    soc_code = models.CharField(_("MedDRA SOC code"), max_length=10, blank=True)
    soc_name = models.CharField(_("MedDRA SOC name"), max_length=200, blank=True)
    dictionary_version = models.CharField(_("dictionary version"), max_length=20, blank=True)

    onset_date = PartialDateField(_("onset date"))
    end_date = PartialDateField(_("end date"))
    ongoing = models.BooleanField(_("ongoing"), null=True, blank=True)
    ctcae_grade = models.PositiveSmallIntegerField(
        _("CTCAE grade"), choices=CtcaeGrade.choices, null=True, blank=True
    )

    death = models.BooleanField(_("results in death"), default=False)
    life_threatening = models.BooleanField(_("life-threatening"), default=False)
    hospitalisation = models.BooleanField(_("hospitalisation (new or prolonged)"), default=False)
    disability = models.BooleanField(_("persistent or significant disability"), default=False)
    congenital_anomaly = models.BooleanField(_("congenital anomaly"), default=False)
    medically_important = models.BooleanField(_("other medically important event"), default=False)

    investigator_causality = models.CharField(
        _("causality (investigator)"), max_length=12, choices=Causality.choices, blank=True
    )
    action_taken = models.CharField(
        _("action taken with study treatment"),
        max_length=20,
        choices=ActionTaken.choices,
        blank=True,
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    special_interest = models.BooleanField(_("AE of special interest"), default=False)
    aesi_category = models.CharField(
        _("AESI category"), max_length=20, choices=AesiCategory.choices, blank=True
    )
    site_awareness_at = models.DateTimeField(_("site aware of the SAE at"), null=True, blank=True)
    sae_reported_at = models.DateTimeField(
        _("SAE report reached the sponsor at"), null=True, blank=True
    )

    # Entered by the medical monitor only.
    sponsor_causality = models.CharField(
        _("causality (sponsor)"), max_length=12, choices=Causality.choices, blank=True
    )
    expectedness = models.CharField(
        _("expectedness"), max_length=12, choices=Expectedness.choices, blank=True
    )
    sponsor_awareness_at = models.DateTimeField(
        _("sponsor's first knowledge at"), null=True, blank=True
    )
    # Left empty when the sponsor knew the event was fatal or life-threatening from first
    # knowledge; set when that information came later (an upgrade).
    sponsor_fatal_awareness_at = models.DateTimeField(
        _("sponsor first knew it was fatal or life-threatening at"), null=True, blank=True
    )
    susar_reported_at = models.DateTimeField(
        _("SUSAR expedited report submitted at"), null=True, blank=True
    )
    susar_followup_reported_at = models.DateTimeField(
        _("SUSAR follow-up report submitted at"), null=True, blank=True
    )

    # Derived by the server on every save; never typed.
    serious = models.BooleanField(_("serious"), default=False, editable=False)
    related = models.BooleanField(_("related (investigator)"), null=True, editable=False)
    sae_report_due_at = models.DateTimeField(_("SAE report due at"), null=True, editable=False)
    susar = models.BooleanField(_("SUSAR"), default=False, editable=False)
    susar_due_at = models.DateTimeField(_("SUSAR report due at"), null=True, editable=False)
    susar_followup_due_at = models.DateTimeField(
        _("SUSAR follow-up report due at"), null=True, editable=False
    )
    dose_limiting = models.BooleanField(
        _("dose-limiting toxicity"),
        null=True,
        editable=False,
        help_text="Whether the event meets the DLT definition of the participant's "
        "dose-escalation stage; empty outside a dose-escalation cohort.",
    )

    class Meta(LogForm.Meta):
        verbose_name = _("adverse event")
        indexes = [
            *LogForm.Meta.indexes,
            # The SAE clock dashboard reads the open ones.
            models.Index(
                fields=["sae_report_due_at"],
                name="safety_ae_sae_open",
                condition=models.Q(serious=True, sae_reported_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ctcae_grade__isnull=True)
                | models.Q(ctcae_grade__gte=1, ctcae_grade__lte=5),
                name="safety_ae_grade_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(serious=False) | models.Q(site_awareness_at__isnull=False),
                name="safety_ae_serious_has_awareness",
            ),
        ]

    def __str__(self) -> str:
        return self.verbatim_term or f"AE {self.pk}"


class PregnancyOutcome(models.TextChoices):
    ONGOING = "ongoing", _("Ongoing")
    LIVE_BIRTH = "live_birth", _("Live birth")
    SPONTANEOUS_ABORTION = "spontaneous_abortion", _("Spontaneous abortion")
    ELECTIVE_TERMINATION = "elective_termination", _("Elective termination")
    STILLBIRTH = "stillbirth", _("Stillbirth")
    ECTOPIC = "ectopic", _("Ectopic pregnancy")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Congenital anomaly")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")
    UNKNOWN = "unknown", _("Unknown")


class PregnancyReport(LogForm):
    """A pregnancy of the participant during the study, reported to the sponsor within 24 hours
    of the site's awareness and followed to its outcome. The exposure to study treatment is read
    from the infusion forms (dates only: nothing reveals the arm)."""

    site_awareness_at = models.DateTimeField(
        _("site aware of the pregnancy at"), null=True, blank=True
    )
    last_menstrual_period = models.DateField(_("last menstrual period"), null=True, blank=True)
    estimated_conception_date = models.DateField(
        _("estimated conception date"), null=True, blank=True
    )
    estimated_due_date = models.DateField(_("estimated due date"), null=True, blank=True)
    exposure_details = models.TextField(_("exposure to study treatment: details"), blank=True)
    sponsor_reported_at = models.DateTimeField(
        _("pregnancy report sent to the sponsor at"), null=True, blank=True
    )
    outcome = models.CharField(
        _("outcome"), max_length=24, choices=PregnancyOutcome.choices, blank=True
    )
    outcome_date = models.DateField(_("outcome date"), null=True, blank=True)
    outcome_details = models.TextField(_("outcome details"), blank=True)
    follow_up = models.TextField(_("follow-up"), blank=True)

    # Derived by the server on every save; never typed.
    exposed_infusion_dates = models.CharField(
        _("study infusions given (dates)"), max_length=200, blank=True, editable=False
    )
    report_due_at = models.DateTimeField(_("pregnancy report due at"), null=True, editable=False)
    outcome_due_at = models.DateTimeField(_("outcome follow-up due at"), null=True, editable=False)

    class Meta(LogForm.Meta):
        verbose_name = _("pregnancy report")

    def __str__(self) -> str:
        return f"Pregnancy {self.pk}"

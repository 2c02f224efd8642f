"""Typed, immutable view of a validated protocol definition."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

FORMAT = "ecrf-protocol/1"

# The clinical forms the backend implements; a visit may only list these.
FORM_CODES: tuple[str, ...] = (
    "consent",
    "eligibility",
    "demographics",
    "medical_history",
    "sledai2k",
    "renal",
    "labs",
    "vitals",
    "infusion",
    "conmed",
    "pregnancy",
    "adverse_events",
    "pregnancy_report",
    "deviation",
    "end_of_study",
)

# The form fields an eligibility criterion may be checked against (`sources:`), per form.
SOURCE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "sledai2k": ("total",),
    "renal": ("upcr_g_g", "egfr", "urine_rbc_hpf", "urine_wbc_hpf"),
    "labs": (
        "ana_titre",
        "hiv_result",
        "hbsag_result",
        "anti_hbc_result",
        "hcv_result",
        "tb_result",
        "anti_hla_result",
    ),
    "medical_history": ("isn_rps_class", "biopsy_months_before_selection"),
}

# Top-level `parameters:` the code reads by name, with what it accepts: a tuple of values,
# WHOLE (a whole number, at least 1) or FORM_LIST (form codes of the trial, comma-separated).
# A key that no criterion's source or look-back names and that is not listed here is refused by
# the loader, so a threshold written in a file is never silently ignored.
WHOLE = "whole"
FORM_LIST = "forms"
CODE_PARAMETERS: Mapping[str, tuple[str, Any]] = {
    "egfr_equation": ("the eGFR equation of the renal form", ("ckd_epi_2021", "ckd_epi_2009")),
    "sledai_window_days": ("the SLEDAI-2K look-back window, in days", (10, 30)),
    "biopsy_max_months_before_selection": ("the biopsy age limit, in months", WHOLE),
    "biopsy_max_months_before_selection_recurrence": (
        "the biopsy age limit for a recurrence, in months",
        WHOLE,
    ),
    "biopsy_max_months_before_screening": ("the biopsy age limit, in months", WHOLE),
    "exclusion_lookback_anchor": (
        "the day the medication look-backs of the criteria count back from",
        ("selection", "randomization"),
    ),
    "pregnancy_outcome_grace_days": ("the days allowed to report a pregnancy outcome", WHOLE),
    "sdv_forms": ("the forms source data verification covers", FORM_LIST),
    "aesev_mapping": ("how the SDTM export gives AE severity", ("ctcae_grade", "none")),
}
# The concomitant medication categories and routes a look-back may name (the conmed form's).
CONMED_CATEGORIES: tuple[str, ...] = (
    "glucocorticoid",
    "immunosuppressant",
    "antimalarial",
    "ace_arb",
    "rescue",
    "other",
)
CONMED_ROUTES: tuple[str, ...] = (
    "oral",
    "intravenous",
    "subcutaneous",
    "intramuscular",
    "topical",
    "inhaled",
    "rectal",
    "other",
)

# Renal response rule sets implemented by the scoring package (see the domain specification).
RULE_SETS: tuple[str, ...] = ("eular2019", "kdigo2021", "bliss_ln", "nct03917797_cr", "acr2006")
# The `response.params` keys each rule set's calculator reads (assessments/rules/renal.py passes
# them on under the calculator's own names); any other key is refused, so a threshold written
# in a file is never silently ignored.
RESPONSE_PARAMETERS: Mapping[str, frozenset[str]] = {
    "eular2019": frozenset(
        {
            "responder_categories",
            "crr_upcr_max_g_per_g",
            "prr_upcr_reduction_min",
            "prr_upcr_max_g_per_g",
            "gfr_ok_egfr_min",
            "gfr_ok_ratio_to_baseline_min",
            "rescue_is_non_response",
        }
    ),
    "kdigo2021": frozenset({"responder_categories", "tol", "basis"}),
    "bliss_ln": frozenset(
        {"responder_categories", "prednisone_max_mg_per_day", "steroid_from_week"}
    ),
    "nct03917797_cr": frozenset(
        {
            "responder_categories",
            "cr_upcr_max_g_per_g",
            "cr_egfr_min",
            "cr_egfr_ratio_to_baseline_min",
            "cr_egfr_unit_registered",
            "cr_urine_rbc_max_per_hpf",
            "cr_rbc_casts_allowed",
            "cr_prednisone_max_mg_per_day",
            "pr_rule",
            "pr_provisional",
        }
    ),
    "acr2006": frozenset(
        {"responder_categories", "egfr_normal", "stable_tol", "improvement", "upcr_improvement"}
    ),
}
# What each response parameter's value must be: "number", "whole" (a whole number), "flag"
# (true or false), or the tuple of the texts the calculator accepts.
RESPONSE_PARAMETER_VALUES: Mapping[str, str | tuple[str, ...]] = {
    "crr_upcr_max_g_per_g": "number",
    "prr_upcr_reduction_min": "number",
    "prr_upcr_max_g_per_g": "number",
    "gfr_ok_egfr_min": "number",
    "gfr_ok_ratio_to_baseline_min": "number",
    "rescue_is_non_response": "flag",
    "tol": "number",
    "basis": ("egfr", "creatinine"),
    "prednisone_max_mg_per_day": "number",
    "steroid_from_week": "whole",
    "cr_upcr_max_g_per_g": "number",
    "cr_egfr_min": "number",
    "cr_egfr_ratio_to_baseline_min": "number",
    "cr_egfr_unit_registered": ("ml/min/m2", "ml/min/1.73m2"),
    "cr_urine_rbc_max_per_hpf": "number",
    "cr_rbc_casts_allowed": "flag",
    "cr_prednisone_max_mg_per_day": "number",
    "pr_rule": ("eular2019_prr",),
    "pr_provisional": "flag",
    "egfr_normal": "number",
    "stable_tol": "number",
    "improvement": "number",
    "upcr_improvement": "number",
}
# The categories each rule set counts as responders; `responder_categories` must name them.
RESPONDER_CATEGORIES: Mapping[str, frozenset[str]] = {
    "eular2019": frozenset({"CRR", "PRR"}),
    "kdigo2021": frozenset({"CR", "PR"}),
    "bliss_ln": frozenset({"CRR", "PERR"}),
    "nct03917797_cr": frozenset({"CR", "PR"}),
    "acr2006": frozenset({"CR", "PR"}),
}
# When a rescue drug must have started to count: only "day0" (after Day 0) is defined.
RESCUE_FROM: tuple[str, ...] = ("day0",)
# The events that make the renal response a non-response from their date on.
TREATMENT_FAILURE_EVENTS: tuple[str, ...] = (
    "renal_flare",
    "dialysis",
    "kidney_transplant",
    "death",
    "creatinine_doubling",
)

MASKING_LEVELS: tuple[str, ...] = ("none", "single", "double", "triple", "quadruple")
MASKED_PARTIES: tuple[str, ...] = (
    "participant",
    "care_provider",
    "investigator",
    "outcomes_assessor",
)
ARM_TYPES: tuple[str, ...] = ("experimental", "placebo_comparator", "active_comparator")
STAGE_KINDS: tuple[str, ...] = ("dose_escalation", "randomized")
# A donor code: letters, digits and dashes with at least one digit, so that a name never fits.
DEFAULT_DONOR_CODE_PATTERN = r"(?=.*[0-9])[A-Z0-9][A-Z0-9-]{3,29}"
VISIT_KINDS: tuple[str, ...] = ("screening", "randomization", "dosing", "follow_up", "end_of_study")
# Visits of these kinds happen before Day 0 exists, so they are bounded backwards from it.
PRE_TREATMENT_KINDS: frozenset[str] = frozenset({"screening", "randomization"})
# The registry's primary purpose; TS TINDTP where SDTM has a term for it.
PRIMARY_PURPOSES: tuple[str, ...] = (
    "treatment",
    "prevention",
    "diagnostic",
    "supportive_care",
    "screening",
    "health_services_research",
    "basic_science",
    "other",
)
# What the trial sets out to show (TS TTYPE).
TRIAL_TYPES: tuple[str, ...] = ("efficacy", "safety", "dose_response", "dose_finding")
PHASES: tuple[str, ...] = (
    "early_phase1",
    "phase1",
    "phase1_phase2",
    "phase2",
    "phase2_phase3",
    "phase3",
    "phase4",
    "not_applicable",
)

V = TypeVar("V")


class FrozenMap(Mapping[str, V]):
    """Read-only, hashable, picklable mapping used wherever the file has a free mapping."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, V] | None = None) -> None:
        self._data: dict[str, V] = dict(data or {})

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def freeze(value: Any) -> Any:
    """Deep-convert lists to tuples and dicts to FrozenMap."""
    if isinstance(value, dict):
        return FrozenMap({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(freeze(item) for item in value)
    return value


@dataclass(frozen=True)
class Indication:
    """The condition the trial treats, as the registry names it; a code when one is given,
    with the terminology it belongs to."""

    text: str
    code: str | None = None
    code_system: str | None = None


@dataclass(frozen=True)
class Identifiers:
    """Registry and sponsor identifiers of the trial."""

    nct: str
    eudract: str | None = None
    sponsor_code: str | None = None
    others: FrozenMap[str] = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class Arm:
    """A treatment arm; ``ratio`` is its share in the allocation ratio."""

    code: str
    name: str
    type: str
    ratio: int
    description: str
    product: str
    assumption: str | None = None


@dataclass(frozen=True)
class Cohort:
    """A dose level of an open-label dose-escalation stage."""

    code: str
    name: str
    dose_cells_per_kg: float
    planned_n: int
    order: int
    assumption: str | None = None


@dataclass(frozen=True)
class DoseLimitingToxicity:
    """What makes an adverse event of a dose-escalation cohort a dose-limiting toxicity."""

    min_grade: int
    related_only: bool
    window_days: int
    events: tuple[str, ...] = ()
    assumption: str | None = None


@dataclass(frozen=True)
class Stage:
    """A part of the trial: open-label dose escalation or the randomized comparison."""

    code: str
    name: str
    kind: str
    blinded: bool
    order: int
    arms: tuple[str, ...]
    cohorts: tuple[Cohort, ...] = ()
    planned_n: int | None = None
    description: str | None = None
    assumption: str | None = None
    dlt: DoseLimitingToxicity | None = None


@dataclass(frozen=True)
class StratificationFactor:
    """A randomization stratum factor taken from the site or from a form field."""

    code: str
    name: str
    source: str
    levels: tuple[str, ...]
    field: str | None = None
    assumption: str | None = None


@dataclass(frozen=True)
class Randomization:
    """Permuted-block allocation list settings."""

    block_sizes: tuple[int, ...]
    strata: tuple[str, ...]
    assumption: str | None = None


@dataclass(frozen=True)
class Site:
    """A participating site; ``time_zone`` is an IANA name."""

    code: str
    name: str
    city: str
    country: str
    time_zone: str
    assumption: str | None = None


@dataclass(frozen=True)
class Visit:
    """A scheduled visit; ``day`` counts from Day 0 (the first infusion), windows in days."""

    code: str
    name: str
    kind: str
    day: int
    window_before: int
    window_after: int
    dosing: bool
    primary_endpoint: bool
    optional: bool
    forms: tuple[str, ...]
    assumption: str | None
    order: int

    @property
    def earliest_day(self) -> int:
        return self.day - self.window_before

    @property
    def latest_day(self) -> int:
        return self.day + self.window_after


@dataclass(frozen=True)
class CriterionSource:
    """An entered value the answer to a criterion is checked against; `value` is the limit,
    read from `parameters:` when `parameter` names one."""

    form: str
    field: str
    visit: str
    op: str
    value: Any
    unit: str = ""
    mode: str = "decides"
    parameter: str | None = None
    assumption: str | None = None


@dataclass(frozen=True)
class MedicationLookback:
    """A medication that settles an exclusion when the concomitant medication log shows it in
    the `months` before the anchor day (`parameters.exclusion_lookback_anchor`): named in
    `drugs` (lower case, in the coded term or the verbatim text) or of a listed category,
    optionally only by a listed route; `started` counts only a start within the window
    ("addition of"), otherwise any use within it counts."""

    months: int
    drugs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    started: bool = False
    parameter: str | None = None
    assumption: str | None = None

    def names(self, text: str, category: str, route: str) -> str | None:
        """What the entry matched by (a drug's name or a category), or None."""
        if self.routes and route not in self.routes:
            return None
        lowered = text.lower()
        drug = next((d for d in self.drugs if d in lowered), None)
        if drug is not None:
            return drug
        return category if category in self.categories else None


@dataclass(frozen=True)
class Criterion:
    """One eligibility criterion, with its registry text kept verbatim."""

    number: int
    code: str
    text: str
    group: str | None = None
    sources: tuple[CriterionSource, ...] = ()
    lookbacks: tuple[MedicationLookback, ...] = ()
    reconfirm_at: str | None = None


@dataclass(frozen=True)
class Eligibility:
    """Inclusion and exclusion criteria plus the registry's demographic limits."""

    inclusion: tuple[Criterion, ...]
    exclusion: tuple[Criterion, ...]
    min_age_years: int | None = None
    max_age_years: int | None = None
    sex: str = "all"
    accepts_healthy_volunteers: bool = False


@dataclass(frozen=True)
class Rescue:
    """Rescue therapy: drugs on the list started after ``start_after`` (Day 0) count, matched
    by name (lower case) in the coded term or the verbatim text."""

    drugs: tuple[str, ...]
    start_after: str = "day0"
    assumption: str | None = None

    def drug_in(self, text: str) -> str | None:
        """The first listed drug named in ``text`` (any case), if any."""
        lowered = text.lower()
        return next((drug for drug in self.drugs if drug in lowered), None)


@dataclass(frozen=True)
class TreatmentFailure:
    """The events after Day 0 that make every later renal response a non-response: those of
    ``events`` (TREATMENT_FAILURE_EVENTS); dialysis once it has lasted ``dialysis_min_days``;
    creatinine doubling once confirmed at consecutive assessments at least
    ``doubling_confirm_weeks`` apart."""

    events: tuple[str, ...]
    dialysis_min_days: int
    doubling_confirm_weeks: int
    assumption: str | None = None


@dataclass(frozen=True)
class Response:
    """How the primary renal response is derived, and when; ``rescue`` is None in a version
    that lists no rescue drugs (then only entries marked rescue by the site count)."""

    rule_set: str
    params: FrozenMap[Any]
    primary_visit: str
    timepoint_label: str
    secondary_rule_sets: tuple[str, ...] = ()
    assumption: str | None = None
    rescue: Rescue | None = None
    treatment_failure: TreatmentFailure | None = None


@dataclass(frozen=True)
class Dosing:
    """Weight-based dosing; ``cells_per_kg`` is None until a dose-escalation stage selects it."""

    rule: str
    cells_per_kg: float | None
    volume_ml: float
    tolerance_pct: float
    weight_hard_limits_kg: tuple[float, float]
    weight_soft_limits_kg: tuple[float, float]
    visit_codes: tuple[str, ...]
    assumption: str | None = None
    viability_min_pct: float | None = None
    pregnancy_test_within_hours: int | None = None
    volume_tolerance_pct: float | None = None
    endotoxin_max_eu_per_ml: float | None = None
    sterility_negative_required: bool = False
    mycoplasma_negative_required: bool = False
    max_minutes_thaw_to_infusion: int | None = None
    donor_code_pattern: str = DEFAULT_DONOR_CODE_PATTERN


@dataclass(frozen=True)
class Blinding:
    """Fields hidden from blinded roles, per form code."""

    allocation_revealing: FrozenMap[tuple[str, ...]]
    assumption: str | None = None

    def is_revealing(self, form: str, field_name: str) -> bool:
        return field_name in self.allocation_revealing.get(form, ())


@dataclass(frozen=True)
class Parameter:
    """A named, versioned threshold or setting used by eligibility checks or derivations."""

    name: str
    value: int | float | str | bool
    unit: str | None = None
    note: str | None = None
    assumption: str | None = None


@dataclass(frozen=True)
class SdvFormPlan:
    """Which fields of a form the monitor verifies: ``critical`` on every record, the rest on
    every record (all), on ``percent`` % of records (sampled) or never (none)."""

    critical: tuple[str, ...]
    level: str
    percent: int = 100


@dataclass(frozen=True)
class ProtocolDefinition:
    """A whole protocol version; ``checksum`` identifies its content, ``raw`` is the parsed data."""

    format: str
    code: str
    version: str
    title: str
    short_title: str
    identifiers: Identifiers
    phase: str
    masking: str
    masked_parties: tuple[str, ...]
    planned_enrollment: int
    sponsor: str
    arms: tuple[Arm, ...]
    stages: tuple[Stage, ...]
    randomization: Randomization | None
    sites: tuple[Site, ...]
    visits: tuple[Visit, ...]
    eligibility: Eligibility
    stratification_factors: tuple[StratificationFactor, ...]
    response: Response
    dosing: Dosing
    blinding: Blinding
    forms: tuple[str, ...]
    assumptions: tuple[str, ...]
    parameters: FrozenMap[Parameter]
    masking_note: str | None
    source: str = field(compare=False)
    indication: Indication | None = None
    primary_purpose: str | None = None
    trial_types: tuple[str, ...] = ()
    # Texts in other languages: language -> kind (visits, criteria, ...) -> code -> text.
    translations: FrozenMap[Any] = field(default_factory=FrozenMap)
    # Source data verification per form code; None: every form verified in full.
    sdv_plan: FrozenMap[SdvFormPlan] | None = None
    checksum: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def arm(self, code: str) -> Arm:
        return _by_code(self.arms, code, "arm")

    def stage(self, code: str) -> Stage:
        return _by_code(self.stages, code, "stage")

    def site(self, code: str) -> Site:
        return _by_code(self.sites, code, "site")

    def visit(self, code: str) -> Visit:
        return _by_code(self.visits, code, "visit")

    def text(self, language: str, kind: str, code: str, english: str) -> str:
        """A text of the file in the language (kind: title, arms, stages, visits, criteria,
        groups); the English text when the file does not translate it."""
        texts = self.translations.get(language.split("-")[0], FrozenMap())
        if kind == "title":
            return str(texts.get("title", english))
        return str(texts.get(kind, FrozenMap()).get(code, english))

    @property
    def primary_visit(self) -> Visit:
        return self.visit(self.response.primary_visit)

    @property
    def dosing_visits(self) -> tuple[Visit, ...]:
        return tuple(visit for visit in self.visits if visit.dosing)


T = TypeVar("T", Arm, Stage, Site, Visit)


def _by_code(items: tuple[T, ...], code: str, what: str) -> T:
    for item in items:
        if item.code == code:
            return item
    raise KeyError(f"no {what} with code {code!r}")

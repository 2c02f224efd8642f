"""JSON Schema (draft 2020-12) for ecrf-protocol/1 definition files."""

from __future__ import annotations

from typing import Any

from .model import (
    ARM_TYPES,
    CONMED_CATEGORIES,
    CONMED_ROUTES,
    FORMAT,
    MASKED_PARTIES,
    MASKING_LEVELS,
    PHASES,
    PRIMARY_PURPOSES,
    RESCUE_FROM,
    STAGE_KINDS,
    TREATMENT_FAILURE_EVENTS,
    TRIAL_TYPES,
    VISIT_KINDS,
)

Schema = dict[str, Any]

CODE_PATTERN = r"^[A-Z][A-Z0-9_]{0,19}$"  # arm/stage/cohort/visit codes; SDTM ARMCD fits in 20
TRIAL_CODE_PATTERN = r"^[A-Z][A-Z0-9]{1,11}$"
SITE_CODE_PATTERN = r"^[A-Z0-9]{2,6}$"
SNAKE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

ASSUMPTION_TEXT = (
    "Why this entry is assumed rather than stated by the registry or protocol; "
    "omit (or null) when the entry is stated by a cited source."
)


def _obj(description: str, properties: dict[str, Schema], required: list[str]) -> Schema:
    # Unknown keys are errors everywhere: a typo must never be silently ignored.
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _str(description: str, **extra: Any) -> Schema:
    return {"type": "string", "minLength": 1, "description": description, **extra}


def _int(description: str, **extra: Any) -> Schema:
    return {"type": "integer", "description": description, **extra}


def _num(description: str, **extra: Any) -> Schema:
    return {"type": "number", "description": description, **extra}


def _bool(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _list(description: str, items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "description": description, "items": items, **extra}


def _assumption() -> Schema:
    return {"type": ["string", "null"], "minLength": 1, "description": ASSUMPTION_TEXT}


def _limits(description: str) -> Schema:
    return _list(description, _num("Kilograms."), minItems=2, maxItems=2)


_SOURCE = _obj(
    "An entered value that verifies the answer to a criterion: the criterion holds (an "
    "inclusion is met, an exclusion applies) when `field` of `form` at `visit` compares with "
    "the limit by `op`.",
    {
        "form": _str("Form code (from the trial's forms catalogue)."),
        "field": _str("Field of the form the value is read from."),
        "visit": _str("Visit code whose form holds the value."),
        "op": _str("Comparison.", enum=[">=", ">", "<=", "<", "==", "in"]),
        "value": {
            "type": ["number", "string", "array"],
            "description": "The limit (a list for `in`); or give `parameter`.",
        },
        "parameter": _str("Key of `parameters:` whose value is the limit."),
        "unit": _str("Unit of the value and the limit, as shown in sentences."),
        "mode": _str(
            "decides (default): the value settles the criterion both ways; necessary: a value "
            "that fails the comparison refutes the criterion, one that passes proves nothing; "
            "sufficient: a value that passes proves the criterion, one that fails proves nothing.",
            enum=["decides", "necessary", "sufficient"],
        ),
        "assumption": _assumption(),
    },
    ["form", "field", "visit", "op"],
)

# Drug names, matched (lower case) in a medication entry's coded term or verbatim text.
_DRUGS = _list(
    "Drug names, lower case, matched in the coded term or the verbatim medication.",
    _str("Drug name.", pattern=r"^[a-z0-9][a-z0-9 -]*$"),
    minItems=1,
    uniqueItems=True,
)

_LOOKBACK = _obj(
    "A medication the concomitant medication log can show within a number of months before "
    "the day `parameters.exclusion_lookback_anchor` names: such an entry proves the criterion "
    "holds; no such entry proves nothing.",
    {
        "drugs": _DRUGS,
        "categories": _list(
            "Concomitant medication categories that count whatever the drug.",
            _str("Category.", enum=list(CONMED_CATEGORIES)),
            minItems=1,
            uniqueItems=True,
        ),
        "routes": _list(
            "Only entries given by one of these routes count (a bolus is intravenous).",
            _str("Route.", enum=list(CONMED_ROUTES)),
            minItems=1,
            uniqueItems=True,
        ),
        "months": _int("Look-back, in months; or give `parameter`.", minimum=1),
        "parameter": _str("Key of `parameters:` whose value is the look-back in months."),
        "started": {
            "type": "boolean",
            "description": 'Count only a start within the window ("addition of"); by default '
            "any use within it counts.",
        },
        "assumption": _assumption(),
    },
    [],
)

_CRITERION = _obj(
    "One eligibility criterion.",
    {
        "number": _int("1-based number, unique and consecutive within its list.", minimum=1),
        "code": _str(
            "IN<nn> for inclusion, EX<nn> for exclusion, matching the number (used as IETESTCD).",
            pattern=r"^(IN|EX)[0-9]{2,3}$",
        ),
        "text": _str("Criterion text, verbatim from the registry record."),
        "group": _str("Heading the criterion is listed under in the registry, verbatim."),
        "sources": _list(
            "Entered values the answer is checked against before eligibility is confirmed.",
            _SOURCE,
            minItems=1,
        ),
        "lookbacks": _list(
            "Medications whose use within a look-back before the anchor day proves the "
            "criterion holds.",
            _LOOKBACK,
            minItems=1,
        ),
        "reconfirm_at": _str(
            "The answer must be confirmed again on the day of this event before it happens.",
            enum=["randomization"],
        ),
    },
    ["number", "code", "text"],
)

_COHORT = _obj(
    "A dose level of a dose-escalation stage; list order is escalation order.",
    {
        "code": _str("Cohort code, unique in the trial.", pattern=CODE_PATTERN),
        "name": _str("Display name."),
        "dose_cells_per_kg": _num("Viable cells per kg body weight.", exclusiveMinimum=0),
        "planned_n": _int("Planned participants in the cohort.", minimum=1),
        "assumption": _assumption(),
    },
    ["code", "name", "dose_cells_per_kg", "planned_n"],
)

_DLT = _obj(
    "Dose-limiting toxicity of a dose-escalation stage: an adverse event of a cohort "
    "participant that meets it counts towards the cohort's safety review.",
    {
        "min_grade": _int("Lowest CTCAE grade that counts.", minimum=1, maximum=5),
        "related_only": _bool(
            "Only events the investigator judged related (possibly, probably or definitely)."
        ),
        "window_days": _int(
            "Days after the infusion (the infusion day is day 0) in which the onset must lie.",
            minimum=0,
        ),
        "events": _list(
            "Adverse events of special interest (category codes) that count at any "
            "relatedness once they reach min_grade.",
            _str("AESI category code.", pattern=SNAKE_PATTERN),
            uniqueItems=True,
        ),
        "assumption": _assumption(),
    },
    ["min_grade", "related_only", "window_days"],
)

_STAGE = _obj(
    "A stage of the trial; list order is chronological order.",
    {
        "code": _str("Stage code, unique in the trial.", pattern=CODE_PATTERN),
        "name": _str("Display name."),
        "kind": {"enum": list(STAGE_KINDS), "description": "dose_escalation or randomized."},
        "blinded": _bool("Whether allocation is masked; dose escalation is always open-label."),
        "arms": _list(
            "Codes of the arms participants of this stage can receive; at least two "
            "for a randomized stage.",
            _str("Arm code.", pattern=CODE_PATTERN),
            minItems=1,
            uniqueItems=True,
        ),
        "cohorts": _list(
            "Dose cohorts in escalation order; required for dose_escalation, empty or absent "
            "for randomized.",
            _COHORT,
        ),
        "planned_n": _int("Planned participants in this stage.", minimum=1),
        "description": _str("Free-text description."),
        "dlt": _DLT,
        "assumption": _assumption(),
    },
    ["code", "name", "kind", "blinded", "arms"],
)

_VISIT = _obj(
    "A scheduled visit; the list must be in day order.",
    {
        "code": _str("Visit code, unique in the trial (e.g. W24).", pattern=CODE_PATTERN),
        "name": _str("Display name."),
        "kind": {"enum": list(VISIT_KINDS), "description": "Role of the visit in the schedule."},
        "day": _int(
            "Target day relative to Day 0 (first infusion); negative before it. For a "
            "screening period this is the first day of the period."
        ),
        "window_before": _int("Days allowed before the target day.", minimum=0),
        "window_after": _int("Days allowed after the target day.", minimum=0),
        "dosing": _bool("An infusion is given at this visit (true exactly for kind dosing)."),
        "primary_endpoint": _bool("The primary endpoint is assessed here (exactly one visit)."),
        "optional": _bool("The participant may decline this visit without a deviation."),
        "forms": _list(
            "Form codes expected at this visit, from the trial's forms catalogue.",
            _str("Form code.", pattern=SNAKE_PATTERN),
            uniqueItems=True,
        ),
        "assumption": _assumption(),
    },
    ["code", "name", "kind", "day", "window_before", "window_after", "forms"],
)

_SITE = _obj(
    "A participating site.",
    {
        "code": _str(
            "Site code, 2-6 uppercase letters/digits, used in subject IDs.",
            pattern=SITE_CODE_PATTERN,
        ),
        "name": _str("Institution name."),
        "city": _str("City."),
        "country": _str("ISO 3166-1 alpha-2 country code.", pattern=r"^[A-Z]{2}$"),
        "time_zone": _str("IANA time zone name, e.g. Europe/Madrid."),
        "assumption": _assumption(),
    },
    ["code", "name", "city", "country", "time_zone"],
)

_ARM = _obj(
    "A treatment arm.",
    {
        "code": _str("Arm code, unique in the trial (SDTM ARMCD).", pattern=CODE_PATTERN),
        "name": _str("Display name."),
        "type": {"enum": list(ARM_TYPES), "description": "Registry arm type."},
        "ratio": _int("Share of the allocation ratio (1 for 1:1).", minimum=1),
        "description": _str("What participants in the arm receive."),
        "product": _str("Investigational product or placebo given."),
        "assumption": _assumption(),
    },
    ["code", "name", "type", "ratio", "description", "product"],
)

_FACTOR = _obj(
    "A stratification factor for randomization.",
    {
        "code": _str("Factor code referenced by randomization.strata.", pattern=SNAKE_PATTERN),
        "name": _str("Display name."),
        "source": {"enum": ["site", "field"], "description": "Taken from the site or a field."},
        "field": _str(
            "For source field: form.field the level is read from.",
            pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
        ),
        "levels": _list(
            "Possible values; for source site, the site codes.",
            _str("Level."),
            minItems=1,
            uniqueItems=True,
        ),
        "assumption": _assumption(),
    },
    ["code", "name", "source", "levels"],
)

_RESCUE = _obj(
    "Rescue therapy for the renal response: a listed drug started after Day 0 and on or before "
    "the assessment, or an entry the site marks as rescue.",
    {
        "drugs": _DRUGS,
        "from": {
            "enum": list(RESCUE_FROM),
            "description": "A listed drug counts when started after this day (day0: Day 0).",
        },
        "assumption": _assumption(),
    },
    ["drugs", "from"],
)

_TREATMENT_FAILURE = _obj(
    "Treatment failure: events after Day 0 that make the renal response a non-response at "
    "every assessment on or after their date, under every rule set.",
    {
        "events": _list(
            "The events that count: renal_flare, dialysis, kidney_transplant (recorded on the "
            "renal assessment), death (the end-of-study form), creatinine_doubling (derived).",
            {"enum": list(TREATMENT_FAILURE_EVENTS)},
            minItems=1,
            uniqueItems=True,
        ),
        "dialysis_min_days": _int(
            "Dialysis counts once it has lasted this many days (chronic dialysis), from the day "
            "it reaches them.",
            minimum=1,
        ),
        "creatinine_doubling_confirm_weeks": _int(
            "Serum creatinine at least twice the baseline value counts when it stays so at "
            "consecutive assessments, the last at least this many weeks after the first.",
            minimum=1,
        ),
        "assumption": _assumption(),
    },
    ["events", "dialysis_min_days", "creatinine_doubling_confirm_weeks"],
)

_PARAMETER = _obj(
    "A named threshold or setting.",
    {
        "value": {"type": ["number", "string", "boolean"], "description": "The value."},
        "unit": _str("Unit of the value, if any."),
        "note": _str("Source or history of the value (e.g. an earlier registry version)."),
        "assumption": _assumption(),
    },
    ["value"],
)


_SDV_FORM = _obj(
    "Source data verification of one form: the fields always verified and the level for the rest.",
    {
        "critical": _list(
            "Fields verified on every record (100%).", _str("Field name.", pattern=SNAKE_PATTERN)
        ),
        "level": {
            "enum": ["all", "sampled", "none"],
            "description": "The other fields: on every record (all), on a deterministic sample "
            "of records (sampled, with percent) or never (none).",
        },
        "percent": _int("The share of records sampled, with level sampled.", minimum=1, maximum=99),
    },
    ["level"],
)


def _texts(what: str) -> Schema:
    return {
        "type": "object",
        "description": f"{what}, by code.",
        "additionalProperties": _str("Translated text."),
    }


_TRANSLATION = _obj(
    "The texts of one language; each code must exist in the file.",
    {
        "title": _str("Official title."),
        "arms": _texts("Arm names"),
        "stages": _texts("Stage names"),
        "visits": _texts("Visit names"),
        "criteria": _texts("Eligibility criterion texts"),
        "groups": _texts("Exclusion group headings, by the English heading"),
    },
    [],
)


PROTOCOL_SCHEMA: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.org/ecrf/protocol-1.schema.json",
    **_obj(
        "A versioned protocol definition for one trial.",
        {
            "format": {"const": FORMAT, "description": f"File format marker, always {FORMAT}."},
            "code": _str(
                "Short trial code used in URLs and subject IDs (2-12 uppercase letters/digits).",
                pattern=TRIAL_CODE_PATTERN,
            ),
            "version": _str(
                "Protocol version or amendment label, e.g. '1.0' (quote it).", maxLength=32
            ),
            "title": _str("Official title."),
            "short_title": _str("Acronym or short title."),
            "identifiers": _obj(
                "Registry identifiers.",
                {
                    "nct": _str("ClinicalTrials.gov number.", pattern=r"^NCT[0-9]{8}$"),
                    "eudract": _str("EudraCT number.", pattern=r"^[0-9]{4}-[0-9]{6}-[0-9]{2}$"),
                    "sponsor_code": _str("Sponsor's protocol code (org study id)."),
                    "others": {
                        "type": "object",
                        "description": "Other identifiers by issuer name.",
                        "additionalProperties": _str("Identifier."),
                    },
                },
                ["nct"],
            ),
            "phase": {"enum": list(PHASES), "description": "Registry phase."},
            "masking": {"enum": list(MASKING_LEVELS), "description": "Registry masking level."},
            "masked_parties": _list(
                "Who is masked; as many parties as the masking level says.",
                {"enum": list(MASKED_PARTIES), "description": "Masked party."},
                uniqueItems=True,
            ),
            "masking_note": _str("Discrepancies between registry sources about masking."),
            "planned_enrollment": _int("Planned number of participants.", minimum=1),
            "sponsor": _str("Lead sponsor."),
            "indication": {
                **_obj(
                    "The condition the trial treats, as the registry names it (TS INDIC).",
                    {
                        "text": _str("The indication in words."),
                        "code": _str("Its code in `code_system`, when known."),
                        "code_system": _str("The terminology of the code, e.g. SNOMED."),
                    },
                    ["text"],
                ),
                "dependentRequired": {"code": ["code_system"], "code_system": ["code"]},
            },
            "primary_purpose": {
                "enum": list(PRIMARY_PURPOSES),
                "description": "Registry primary purpose (TS TINDTP).",
            },
            "trial_types": _list(
                "What the trial sets out to show (TS TTYPE).",
                {"enum": list(TRIAL_TYPES), "description": "Trial type."},
                uniqueItems=True,
                minItems=1,
            ),
            "arms": _list("Treatment arms.", _ARM, minItems=1),
            "stages": _list("Stages in chronological order.", _STAGE, minItems=1),
            "randomization": _obj(
                "Allocation list settings; required when a stage is randomized.",
                {
                    "block_sizes": _list(
                        "Permuted block sizes, each a multiple of the sum of arm ratios.",
                        _int("Block size.", minimum=1),
                        minItems=1,
                        uniqueItems=True,
                    ),
                    "strata": _list(
                        "Codes of the stratification factors used.",
                        _str("Factor code.", pattern=SNAKE_PATTERN),
                        uniqueItems=True,
                    ),
                    "assumption": _assumption(),
                },
                ["block_sizes", "strata"],
            ),
            "stratification_factors": _list("Stratification factors.", _FACTOR),
            "sites": _list("Participating sites (at least one).", _SITE, minItems=1),
            "visits": _list("The visit schedule, in day order.", _VISIT, minItems=1),
            "eligibility": _obj(
                "Eligibility criteria.",
                {
                    "min_age_years": _int("Minimum age in years.", minimum=0),
                    "max_age_years": _int("Maximum age in years.", minimum=0),
                    "sex": {"enum": ["all", "female", "male"], "description": "Eligible sex."},
                    "accepts_healthy_volunteers": _bool("Healthy volunteers accepted."),
                    "inclusion": _list("Inclusion criteria.", _CRITERION, minItems=1),
                    "exclusion": _list("Exclusion criteria.", _CRITERION, minItems=1),
                },
                ["inclusion", "exclusion"],
            ),
            "response": _obj(
                "Primary renal response derivation.",
                {
                    "rule_set": _str(
                        "Rule-set code of the primary response.", pattern=SNAKE_PATTERN
                    ),
                    "params": {
                        "type": "object",
                        "description": "Rule-set parameters (thresholds, responder categories).",
                        "propertyNames": {"pattern": SNAKE_PATTERN},
                    },
                    "primary_visit": _str(
                        "Code of the primary endpoint visit.", pattern=CODE_PATTERN
                    ),
                    "timepoint_label": _str("Label of the primary timepoint, e.g. 'Week 24'."),
                    "secondary_rule_sets": _list(
                        "Rule sets also derived for secondary analyses.",
                        _str("Rule-set code.", pattern=SNAKE_PATTERN),
                        uniqueItems=True,
                    ),
                    "rescue": _RESCUE,
                    "treatment_failure": _TREATMENT_FAILURE,
                    "assumption": _assumption(),
                },
                ["rule_set", "primary_visit", "timepoint_label"],
            ),
            "dosing": _obj(
                "Dosing rule; the dosing visits are those with dosing: true.",
                {
                    "rule": {"enum": ["weight_based"], "description": "Dose calculation rule."},
                    "cells_per_kg": {
                        "type": ["number", "null"],
                        "exclusiveMinimum": 0,
                        "description": "Cells per kg in the randomized stage; null only while "
                        "a dose-escalation stage has still to select it.",
                    },
                    "volume_ml": _num(
                        "Infusion volume in mL (same for every arm).", exclusiveMinimum=0
                    ),
                    "tolerance_pct": _num(
                        "Allowed deviation of administered viable cells "
                        "from the target, in percent.",
                        minimum=0,
                        maximum=100,
                    ),
                    "weight_hard_limits_kg": _limits("[min, max] weight accepted at all."),
                    "weight_soft_limits_kg": _limits(
                        "[min, max] weight accepted without confirmation."
                    ),
                    "viability_min_pct": _num(
                        "Lowest viability of the cell product, in percent, given without a "
                        "warning; absent: no viability check.",
                        minimum=0,
                        maximum=100,
                    ),
                    "volume_tolerance_pct": _num(
                        "Allowed deviation of the infused volume from volume_ml, in percent, "
                        "before a warning; absent: no volume check.",
                        minimum=0,
                        maximum=100,
                    ),
                    "endotoxin_max_eu_per_ml": _num(
                        "Highest endotoxin of the released product (EU/mL); absent: no check.",
                        minimum=0,
                    ),
                    "sterility_negative_required": _bool(
                        "The product's sterility test must be negative (no growth)."
                    ),
                    "mycoplasma_negative_required": _bool(
                        "The product's mycoplasma test must be negative."
                    ),
                    "max_minutes_thaw_to_infusion": _int(
                        "Longest time from thaw or preparation to the start of the infusion, "
                        "in minutes; absent: no check.",
                        minimum=1,
                    ),
                    "donor_code_pattern": _str(
                        "Regular expression a donor identifier code must match in full; a code, "
                        "never a name. Absent: letters, digits and dashes with at least one digit."
                    ),
                    "pregnancy_test_within_hours": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "A participant of childbearing potential needs a "
                        "negative pregnancy test this many hours before an infusion is recorded "
                        "as given; absent: no such check.",
                    },
                    "assumption": _assumption(),
                },
                [
                    "rule",
                    "cells_per_kg",
                    "volume_ml",
                    "tolerance_pct",
                    "weight_hard_limits_kg",
                    "weight_soft_limits_kg",
                ],
            ),
            "blinding": _obj(
                "What blinded roles must never see.",
                {
                    "allocation_revealing": {
                        "type": "object",
                        "description": "Form code -> field names that reveal the allocation.",
                        "propertyNames": {"pattern": SNAKE_PATTERN},
                        "additionalProperties": _list(
                            "Field names.",
                            _str("Field name.", pattern=SNAKE_PATTERN),
                            minItems=1,
                            uniqueItems=True,
                        ),
                    },
                    "assumption": _assumption(),
                },
                ["allocation_revealing"],
            ),
            "forms": _list(
                "Forms catalogue used by this trial (a subset of the implemented forms).",
                _str("Form code.", pattern=SNAKE_PATTERN),
                minItems=1,
                uniqueItems=True,
            ),
            "assumptions": _list(
                "Every assumption made where the sources are silent.", _str("Assumption.")
            ),
            "translations": {
                "type": "object",
                "description": "The file's texts in other languages, by language code (es); "
                "a text not given is shown in English.",
                "propertyNames": {"pattern": r"^[a-z]{2}$"},
                "additionalProperties": _TRANSLATION,
            },
            "sdv_plan": {
                "type": "object",
                "description": "Source data verification per form code; a form not listed needs "
                "none. Without this section every form is verified in full.",
                "propertyNames": {"pattern": SNAKE_PATTERN},
                "additionalProperties": _SDV_FORM,
            },
            "parameters": {
                "type": "object",
                "description": "Named thresholds and settings, by snake_case name.",
                "propertyNames": {"pattern": SNAKE_PATTERN},
                "additionalProperties": _PARAMETER,
            },
        },
        [
            "format",
            "code",
            "version",
            "title",
            "short_title",
            "identifiers",
            "phase",
            "masking",
            "masked_parties",
            "planned_enrollment",
            "sponsor",
            "arms",
            "stages",
            "sites",
            "visits",
            "eligibility",
            "response",
            "dosing",
            "blinding",
            "forms",
        ],
    ),
}

"""Renal assessment: unit conversion, eGFR, and the response against baseline under the protocol."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import EndOfStudy, EntryStatus, RenalAssessment
from assessments.models.end_of_study import EndStatus
from assessments.models.renal import FailureEvent as FailureEventKind
from assessments.rules.base import Checks, FormContext, check_dates
from assessments.rules.common import age_on, coerce, show
from assessments.rules.conmed import Exposure, exposure_on
from assessments.scoring import (
    RenalInputs,
    ScoringInputError,
    creatinine,
    egfr_ckd_epi,
    evaluate,
    get_rule_set,
    upcr_to_g_per_g,
)
from assessments.scoring.egfr import EgfrResult
from assessments.scoring.treatment_failure import (
    FailureEvent,
    dialysis_failure,
    failure_event,
    failure_on,
    sustained_doubling,
)
from assessments.scoring.units import CreatinineValue, UpcrValue
from ecrf.access import SITE_STAFF_ROLES
from ecrf.messages import Text
from trials.protocol import ProtocolDefinition, TreatmentFailure

REQUIRED_FIELDS: tuple[str, ...] = (
    "assessment_date",
    "specimen_type",
    "upcr_value",
    "upcr_unit",
    "serum_creatinine_value",
    "creatinine_unit",
)
SEDIMENT_FIELDS: tuple[str, ...] = (
    "urine_rbc_hpf",
    "urine_wbc_hpf",
    "rbc_casts",
    "cellular_casts",
)
FAILURE_FIELDS: tuple[str, ...] = ("failure_event", "failure_event_date", "dialysis_end_date")
INPUT_FIELDS: tuple[str, ...] = (*REQUIRED_FIELDS, *SEDIMENT_FIELDS, *FAILURE_FIELDS)
RESPONSE_FIELDS: tuple[str, ...] = (
    "response_baseline_date",
    "response_week",
    "response_category",
    "response_rule_set",
    "response_version",
    "response_provisional",
    "response_reasons",
    "response_note",
    "secondary_responses",
)
DERIVED_FIELDS: tuple[str, ...] = (
    "upcr_g_g",
    "creatinine_mg_dl",
    "age_years",
    "egfr",
    "egfr_equation",
    "egfr_version",
    *RESPONSE_FIELDS,
)

# The protocol file's `egfr_equation` parameter, as the calculator names the equation.
EQUATIONS = {"ckd_epi_2021": "2021", "ckd_epi_2009": "2009"}
# Protocol response parameters by their name in the protocol file, as the calculator names
# them (a name the calculator itself uses, such as cr_egfr_min, is passed as it is). The loader
# accepts exactly the names trials.protocol.RESPONSE_PARAMETERS lists for each rule set, and
# each of them reaches the calculator, except `responder_categories`, which the loader checks
# against the rule set's responders.
PROTOCOL_PARAMETERS: Mapping[str, Mapping[str, str]] = {
    "eular2019": {
        "crr_upcr_max_g_per_g": "t_cr",
        "rescue_is_non_response": "rescue_is_failure",
        "gfr_ok_ratio_to_baseline_min": "gfr_ok_ratio_min",
        "prr_upcr_reduction_min": "prr_reduction_min",
        "prr_upcr_max_g_per_g": "prr_upcr_max",
    },
    "bliss_ln": {"prednisone_max_mg_per_day": "prednisone_limit_mg"},
    "nct03917797_cr": {
        "cr_prednisone_max_mg_per_day": "prednisone_limit_mg",
        "cr_upcr_max_g_per_g": "cr_upcr_max",
        "cr_egfr_ratio_to_baseline_min": "cr_egfr_ratio_min",
        "cr_urine_rbc_max_per_hpf": "cr_urine_rbc_max",
    },
}
# Where a calculator's complaint belongs on the form.
_INPUT_OF = {
    "upcr": "upcr_value",
    "upcr_unit": "upcr_unit",
    "creatinine": "serum_creatinine_value",
    "creatinine_unit": "creatinine_unit",
    "age_years": "assessment_date",
    "sex": "assessment_date",
    "equation": "serum_creatinine_value",
}
UPCR_UNUSUAL_G_G = Decimal(15)
CREATININE_UNUSUAL_MG_DL = Decimal(10)
RBC_UNUSUAL_HPF = Decimal(100)


def _equation(definition: ProtocolDefinition) -> str:
    parameter = definition.parameters.get("egfr_equation")
    name = "ckd_epi_2021" if parameter is None else str(parameter.value)
    if name not in EQUATIONS:
        raise ScoringInputError("equation", f"the protocol names an unknown eGFR equation {name!r}")
    return EQUATIONS[name]


def _entered(instance: RenalAssessment, name: str) -> Any:
    value = getattr(instance, name)
    if value is None:
        raise ScoringInputError(name, "required")
    return value


def _upcr(instance: RenalAssessment) -> UpcrValue:
    return upcr_to_g_per_g(_entered(instance, "upcr_value"), instance.upcr_unit)


def _creatinine(instance: RenalAssessment) -> CreatinineValue:
    return creatinine(_entered(instance, "serum_creatinine_value"), instance.creatinine_unit)


def _egfr(instance: RenalAssessment, definition: ProtocolDefinition) -> EgfrResult:
    participant = instance.participant
    return egfr_ckd_epi(
        age_years=age_on(participant.date_of_birth, _entered(instance, "assessment_date")),
        sex=participant.sex,
        creatinine_value=_entered(instance, "serum_creatinine_value"),
        creatinine_unit=instance.creatinine_unit,
        equation=_equation(definition),
    )


def validate(instance: RenalAssessment, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, INPUT_FIELDS, ctx, checks):
        return
    check_dates(instance, ("assessment_date",), ctx, checks)
    for name in ("upcr_value", "serum_creatinine_value"):
        value = getattr(instance, name)
        if value is not None and value <= 0:
            checks.error(name, gettext("The value must be greater than 0."))
    for name in ("urine_rbc_hpf", "urine_wbc_hpf"):
        value = getattr(instance, name)
        if value is not None and value < 0:
            checks.error(name, gettext("A cell count cannot be negative."))
    if instance.rbc_casts is True and instance.cellular_casts is False:
        checks.error(
            "cellular_casts",
            gettext("RBC casts are cellular casts: answer yes, or correct the RBC casts."),
        )
    _check_failure(instance, ctx, checks)
    if checks.errors:
        return
    try:
        upcr = _upcr(instance)
        scr = _creatinine(instance)
        _egfr(instance, ctx.definition)
    except ScoringInputError as error:
        message = error.message
        if error.field == "age_years":
            message = gettext("eGFR by CKD-EPI needs an adult participant (%(detail)s).") % {
                "detail": message
            }
        checks.error(
            _INPUT_OF.get(error.field, "assessment_date"), message[:1].upper() + message[1:]
        )
        return
    if upcr.g_per_g > UPCR_UNUSUAL_G_G:
        checks.warn(
            "upcr_value",
            Text(
                gettext_noop(
                    "UPCR %(value)s g/g is unusual (above %(limit)s g/g); check the value and its "
                    "unit."
                ),
                value=upcr.g_per_g.quantize(Decimal("0.01")),
                limit=UPCR_UNUSUAL_G_G,
            ),
        )
    if scr.mg_dl > CREATININE_UNUSUAL_MG_DL:
        checks.warn(
            "serum_creatinine_value",
            Text(
                gettext_noop(
                    "Creatinine %(value)s mg/dL is unusual (above %(limit)s mg/dL); check the "
                    "value and its unit."
                ),
                value=scr.mg_dl.quantize(Decimal("0.01")),
                limit=CREATININE_UNUSUAL_MG_DL,
            ),
        )
    if instance.urine_rbc_hpf is not None and instance.urine_rbc_hpf > RBC_UNUSUAL_HPF:
        checks.warn(
            "urine_rbc_hpf",
            Text(
                gettext_noop("%(value)s RBC/hpf is unusual (above %(limit)s); please confirm."),
                value=instance.urine_rbc_hpf,
                limit=RBC_UNUSUAL_HPF,
            ),
        )


def _check_failure(instance: RenalAssessment, ctx: FormContext, checks: Checks) -> None:
    """A treatment failure event needs its date; a dialysis end date needs dialysis."""
    event, day = instance.failure_event, instance.failure_event_date
    end = instance.dialysis_end_date
    if event and day is None:
        checks.error("failure_event_date", gettext("Give the date of the treatment failure event."))
    if not event and day is not None:
        checks.error(
            "failure_event", gettext("Say which treatment failure event happened on this date.")
        )
    if end is not None and event != FailureEventKind.DIALYSIS:
        checks.error(
            "dialysis_end_date", gettext("A dialysis end date needs dialysis as the event.")
        )
    for name, value in (("failure_event_date", day), ("dialysis_end_date", end)):
        if value is not None and value > ctx.today:
            checks.error(name, gettext("The date is in the future."))
    if day is not None and end is not None and end < day:
        checks.error("dialysis_end_date", gettext("Dialysis cannot end before it started."))
    day0 = ctx.participant.day0
    if event and day is not None and day0 is not None and day < day0:
        checks.warn(
            "failure_event_date",
            Text(
                gettext_noop(
                    "The event precedes Day 0 (%(day0)s); it does not count as treatment failure."
                ),
                day0=day0.isoformat(),
            ),
        )


def derive(instance: RenalAssessment, ctx: FormContext) -> None:
    upcr = _upcr(instance)
    result = _egfr(instance, ctx.definition)
    instance.upcr_g_g = upcr.g_per_g.quantize(Decimal("1e-10"))
    instance.creatinine_mg_dl = result.creatinine_mg_dl.quantize(Decimal("1e-6"))
    instance.age_years = int(result.age_years)
    instance.egfr = result.egfr
    instance.egfr_equation = result.equation
    instance.egfr_version = result.version
    for name, value in response_values(instance, ctx.definition).items():
        setattr(instance, name, value)


def rule_set_parameters(code: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol's response parameters that the rule set's calculator takes."""
    accepted = get_rule_set(code).parameters
    renamed = PROTOCOL_PARAMETERS.get(code, {})
    chosen = {}
    for name, value in params.items():
        target = renamed.get(name, name)
        if target in accepted:
            chosen[target] = value
    return chosen


def _no_response(rule_set: str, note: str) -> dict[str, Any]:
    return {
        "response_baseline_date": None,
        "response_week": None,
        "response_category": "",
        "response_rule_set": rule_set,
        "response_version": "",
        "response_provisional": None,
        "response_reasons": [],
        "response_note": note,
        "secondary_responses": {},
    }


def _evaluate(code: str, inputs: RenalInputs, params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        result = evaluate(code, inputs, **rule_set_parameters(code, params))
    except ScoringInputError as error:
        if inputs.treatment_failure is not None:
            text = f"treatment failure => NR: {inputs.treatment_failure}"
            return {
                "category": "NR",
                "version": get_rule_set(code).calculator.version,
                "provisional": False,
                "reasons": [{"condition": "treatment failure => NR", "held": True, "text": text}],
                "note": "",
            }
        return {
            "category": "",
            "version": get_rule_set(code).calculator.version,
            "provisional": None,
            "reasons": [],
            "note": f"Not derived under {code}: {error.field} {error.message}.",
        }
    return {
        "category": result.category,
        "version": result.version,
        "provisional": result.provisional,
        "reasons": [
            {"condition": reason.condition, "held": reason.held, "text": reason.text}
            for reason in result.reasons
        ],
        "note": " ".join(result.notes),
    }


def response_values(instance: RenalAssessment, definition: ProtocolDefinition) -> dict[str, Any]:
    """The response fields of one assessment: against the last assessment before Day 0, under
    the protocol's rule set (and its secondary ones), with prednisone and rescue from the
    medication log. Why there is none is said in the note."""
    response = definition.response
    rule_set = response.rule_set
    day0 = instance.participant.day0
    day = instance.assessment_date
    if instance.entry_status != EntryStatus.ENTERED or day is None or instance.egfr is None:
        return _no_response(rule_set, "")
    if day0 is None:
        return _no_response(
            rule_set, "No response: Day 0 (first infusion) is not set, so there is no baseline."
        )
    if day < day0:
        return _no_response(
            rule_set,
            f"No response: this assessment precedes Day 0 ({day0:%Y-%m-%d}); the last one "
            "before Day 0 is the baseline the later ones are compared with.",
        )
    baseline = _baseline(instance, day0)
    if baseline is None:
        return _no_response(
            rule_set,
            f"No response yet: no renal assessment is dated before Day 0 ({day0:%Y-%m-%d}) to "
            "serve as baseline.",
        )
    if baseline.egfr_version != instance.egfr_version:
        return _no_response(
            rule_set,
            f"No response: the baseline eGFR uses CKD-EPI {baseline.egfr_version} and this one "
            f"CKD-EPI {instance.egfr_version}; equations are never mixed.",
        )
    return _response(instance, baseline, day, day0, definition)


def _baseline(instance: RenalAssessment, day0: date) -> RenalAssessment | None:
    """The participant's last assessment with an eGFR before Day 0."""
    return (
        RenalAssessment.objects.filter(
            participant=instance.participant,
            entry_status=EntryStatus.ENTERED,
            assessment_date__lt=day0,
            egfr__isnull=False,
        )
        .exclude(pk=instance.pk)
        .order_by("-assessment_date", "-pk")
        .first()
    )


def _response(
    instance: RenalAssessment,
    baseline: RenalAssessment,
    day: date,
    day0: date,
    definition: ProtocolDefinition,
) -> dict[str, Any]:
    """The response of an assessment from Day 0 on against its baseline, under the primary
    rule set and the secondary ones."""
    response = definition.response
    rule_set = response.rule_set
    exposure = exposure_on(instance.participant, day, rescue=response.rescue)
    week = (day - day0).days // 7
    failure = _treatment_failure(instance, baseline, day0, response.treatment_failure)
    inputs = _renal_inputs(instance, baseline, exposure, week, failure)
    primary = _evaluate(rule_set, inputs, response.params)
    secondary = {
        code: _evaluate(code, inputs, {})
        for code in response.secondary_rule_sets
        if code != rule_set
    }
    notes = [primary["note"], *exposure.notes]
    if failure is not None:
        notes.insert(
            0, f"Treatment failure: {failure.text}; non-response from {failure.day:%Y-%m-%d} on."
        )
    if exposure.uncertain:
        notes.append("Provisional: a medication date is partial.")
        for item in secondary.values():
            if item["category"]:
                item["provisional"] = True
    return {
        "response_baseline_date": baseline.assessment_date,
        "response_week": week,
        "response_category": primary["category"],
        "response_rule_set": rule_set,
        "response_version": primary["version"],
        "response_provisional": (
            (bool(primary["provisional"]) or exposure.uncertain) if primary["category"] else None
        ),
        "response_reasons": primary["reasons"],
        "response_note": " ".join(note for note in notes if note),
        "secondary_responses": secondary,
    }


def _treatment_failure(
    instance: RenalAssessment,
    baseline: RenalAssessment,
    day0: date,
    protocol: TreatmentFailure | None,
) -> FailureEvent | None:
    """The first treatment failure on or before the assessment, from Day 0 on: an event a
    renal assessment records, death on the end-of-study form, or a doubling of creatinine
    against the baseline sustained over the protocol's interval. None when the protocol
    version defines no treatment failure."""
    day = instance.assessment_date
    if protocol is None or day is None:
        return None
    rows = [
        *RenalAssessment.objects.filter(
            participant=instance.participant, entry_status=EntryStatus.ENTERED
        )
        .exclude(pk=instance.pk)
        .order_by("assessment_date", "pk"),
        instance,
    ]
    events: list[FailureEvent | None] = []
    for row in rows:
        event, start = row.failure_event, row.failure_event_date
        if not event or start is None or start < day0 or event not in protocol.events:
            continue
        if event == FailureEventKind.DIALYSIS:
            events.append(
                dialysis_failure(start, row.dialysis_end_date, min_days=protocol.dialysis_min_days)
            )
        else:
            events.append(failure_event(event, start))
    if "death" in protocol.events:
        death = _death_date(instance)
        if death is not None and death >= day0:
            events.append(failure_event("death", death))
    if "creatinine_doubling" in protocol.events:
        values = [
            (row.assessment_date, _creatinine(row).mg_dl)
            for row in rows
            if row.assessment_date is not None
            and row.assessment_date >= day0
            and row.serum_creatinine_value is not None
            and row.creatinine_unit
        ]
        events.append(
            sustained_doubling(
                values,
                _creatinine(baseline).mg_dl,
                confirm_weeks=protocol.doubling_confirm_weeks,
            )
        )
    return failure_on(events, day)


def _death_date(instance: RenalAssessment) -> date | None:
    """The date of death: the last contact date of an end of study recorded as death."""
    end = (
        EndOfStudy.objects.filter(
            participant=instance.participant,
            entry_status=EntryStatus.ENTERED,
            status=EndStatus.DEATH,
        )
        .order_by("pk")
        .first()
    )
    return None if end is None else end.last_contact_date


def _renal_inputs(
    instance: RenalAssessment,
    baseline: RenalAssessment,
    exposure: Exposure,
    week: int,
    failure: FailureEvent | None,
) -> RenalInputs:
    return RenalInputs(
        # UPCR compared exactly, from the values as entered; eGFR as reported (1 decimal).
        p0=_upcr(baseline).g_per_g,
        p1=_upcr(instance).g_per_g,
        g0=_entered(baseline, "egfr"),
        g1=_entered(instance, "egfr"),
        urine_rbc_hpf=instance.urine_rbc_hpf,
        urine_wbc_hpf=instance.urine_wbc_hpf,
        rbc_casts=instance.rbc_casts,
        cellular_casts=instance.cellular_casts,
        prednisone_mg_day=exposure.prednisone_mg_day,
        rescue=exposure.rescue,
        week=week,
        scr0_mg_dl=_creatinine(baseline).mg_dl,
        scr1_mg_dl=_creatinine(instance).mg_dl,
        treatment_failure=None if failure is None else failure.text,
    )


def explain(instance: RenalAssessment) -> str:
    if instance.egfr is None:
        return ""
    # Read on the page in the reader's language; nothing stores or exports these sentences
    # (the response reasons and notes are stored, and stay as stored).
    upcr = f"UPCR {show(instance.upcr_value)} {instance.upcr_unit}"
    if instance.upcr_unit not in ("g/g", "mg/mg"):
        upcr += f" = {show(instance.upcr_g_g)} g/g " + gettext(
            "(exact: mg/mmol / 113.12, mg/g / 1000)"
        )
    scr = gettext("creatinine")
    scr += f" {show(instance.serum_creatinine_value)} {instance.creatinine_unit}"
    if instance.creatinine_unit != "mg/dL":
        scr += f" = {show(instance.creatinine_mg_dl)} mg/dL (/ 88.4)"
    lines = [
        gettext(
            "%(upcr)s; %(creatinine)s; eGFR %(egfr)s mL/min/1.73 m2 by %(equation)s, "
            "age %(age)s years."
        )
        % {
            "upcr": upcr,
            "creatinine": scr,
            "egfr": instance.egfr,
            "equation": instance.egfr_equation,
            "age": instance.age_years,
        }
    ]
    if instance.response_category:
        calculator = get_rule_set(instance.response_rule_set).calculator.name
        provisional = " (provisional)" if instance.response_provisional else ""
        lines.append(
            f"{calculator} {instance.response_version}, week {instance.response_week} against "
            f"the baseline of {instance.response_baseline_date:%Y-%m-%d}: "
            f"{instance.response_category}{provisional}."
        )
        lines.extend(reason["text"] for reason in instance.response_reasons)
    if instance.response_note:
        lines.append(instance.response_note)
    for code, item in (instance.secondary_responses or {}).items():
        lines.append(f"Secondary {code}: {item['category'] or item['note']}")
    return "\n".join(lines)


RENAL = FormType(
    code="renal",
    label=gettext_noop("Renal assessment"),
    model=RenalAssessment,
    scope=FormScope.VISIT,
    fields=INPUT_FIELDS,
    required=REQUIRED_FIELDS,
    date_fields=("assessment_date",),
    derived=DERIVED_FIELDS,
    editors=SITE_STAFF_ROLES,
    efficacy=True,
    validate=validate,
    derive=derive,
    explain=explain,
    fieldsets=(
        ("Assessment", ("assessment_date", "specimen_type")),
        ("Proteinuria", ("upcr_value", "upcr_unit")),
        ("Kidney function", ("serum_creatinine_value", "creatinine_unit")),
        ("Urine sediment", SEDIMENT_FIELDS),
        ("Treatment failure", FAILURE_FIELDS),
    ),
)

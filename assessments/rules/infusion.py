"""The study infusion: weight-based target, tolerance of the administered cells, blinding."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import Infusion, PregnancyTest
from assessments.models.infusion import ReleaseResult
from assessments.models.pregnancy import PregnancyResult
from assessments.rules.base import (
    Checks,
    FormContext,
    before_consent,
    check_dates,
    check_range,
    within_calendar,
)
from assessments.rules.common import coerce, previous_values, show
from assessments.scoring import (
    WEIGHT_BASED_DOSE,
    ScoringInputError,
    check_administered,
    target_dose,
)
from assessments.scoring.dosing import HARD_WEIGHT_LIMITS_KG
from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.messages import Text, decimal_text
from ecrf.site_time import local_date
from trials.definitions import definition_of
from trials.models import AllocationSlot, Participant, Sex
from trials.protocol import ProtocolDefinition

SITE_FIELDS: tuple[str, ...] = (
    "weight_kg",
    "weight_date",
    "given",
    "not_given_reason",
    "volume_ml",
    "start_time",
    "stop_time",
    "interrupted",
    "interruption_details",
    "premedication_given",
    "premedication_details",
    "spo2_pre_pct",
    "spo2_during_pct",
    "spo2_post_pct",
)
RELEASE_FIELDS: tuple[str, ...] = (
    "viability_pct",
    "sterility_result",
    "endotoxin_eu_per_ml",
    "mycoplasma_result",
    "release_checks_passed",
)
CUSTODY_FIELDS: tuple[str, ...] = (
    "received_at",
    "received_by",
    "storage_acceptable",
    "thawed_at",
    "dispensed_at",
)
PHARMACY_FIELDS: tuple[str, ...] = (
    "kit_number",
    "product_lot",
    "bag_id",
    "donor_code",
    "cell_count_1e6",
    *RELEASE_FIELDS,
    *CUSTODY_FIELDS,
)
SPO2_FIELDS: tuple[str, ...] = ("spo2_pre_pct", "spo2_during_pct", "spo2_post_pct")
DERIVED_FIELDS: tuple[str, ...] = (
    "dose_cells_per_kg",
    "target_million_cells",
    "within_tolerance",
    "deviation_required",
    "dose_warnings",
    "dose_calculator",
)
# Everything about the product and the dose check reveals the arm (a placebo holds no cells).
REVEALING: tuple[str, ...] = (
    *PHARMACY_FIELDS,
    "dose_cells_per_kg",
    "target_million_cells",
    "within_tolerance",
    "deviation_required",
    "dose_warnings",
)
PHARMACY = frozenset({Role.PHARMACIST})
EDITORS = SITE_STAFF_ROLES | PHARMACY
# The Day-0 weight may be taken at most this many days before the infusion without a warning.
WEIGHT_MAX_DAYS_BEFORE = 7
# Chain of custody: each time is at or after the one before it.
CUSTODY_ORDER: tuple[tuple[str, str], ...] = (
    ("received_at", "thawed_at"),
    ("received_at", "dispensed_at"),
    ("thawed_at", "start_time"),
    ("dispensed_at", "start_time"),
)
# What each pair out of order is called: kept in English among the dose findings, worded in
# the reader's language as an edit-check error.
CUSTODY_PROBLEMS = {
    ("received_at", "thawed_at"): gettext_noop(
        "The thaw or preparation is before the receipt at the site."
    ),
    ("received_at", "dispensed_at"): gettext_noop(
        "The dispensing is before the receipt at the site."
    ),
    ("thawed_at", "start_time"): gettext_noop(
        "The start of the infusion is before the thaw or preparation."
    ),
    ("dispensed_at", "start_time"): gettext_noop(
        "The start of the infusion is before the dispensing."
    ),
}


def dose_cells_per_kg(participant: Participant, definition: ProtocolDefinition) -> Decimal | None:
    """Cells per kg: the cohort's dose in open-label dose escalation, else the protocol's."""
    if participant.cohort_id is not None and participant.cohort is not None:
        return Decimal(repr(participant.cohort.dose_cells_per_kg))
    if definition.dosing.cells_per_kg is None:
        return None
    return Decimal(repr(definition.dosing.cells_per_kg))


def _tolerance(definition: ProtocolDefinition) -> Decimal:
    return Decimal(repr(definition.dosing.tolerance_pct)) / 100


def _viability_min(definition: ProtocolDefinition) -> Decimal | None:
    """The protocol's lowest product viability (%); None when the version sets none."""
    limit = definition.dosing.viability_min_pct
    return None if limit is None else Decimal(repr(limit))


def _placebo(participant: Participant, definition: ProtocolDefinition) -> bool:
    arm_code = (
        AllocationSlot.objects.filter(participant=participant)
        .values_list("arm_code", flat=True)
        .first()
    )
    if arm_code is None:
        return False
    try:
        return definition.arm(arm_code).type == "placebo_comparator"
    except KeyError:
        return False


def validate(instance: Infusion, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, (*SITE_FIELDS, *PHARMACY_FIELDS), ctx, checks):
        return
    dosing = ctx.definition.dosing
    check_range(
        instance,
        "weight_kg",
        checks,
        hard=dosing.weight_hard_limits_kg,
        soft=dosing.weight_soft_limits_kg,
        unit="kg",
    )
    _check_administration(instance, ctx, checks)
    _check_pregnancy_test(instance, ctx, checks)
    _check_product(instance, ctx, checks)
    if checks.errors:
        return
    per_kg = dose_cells_per_kg(ctx.participant, ctx.definition)
    if per_kg is None:
        checks.warn(
            "weight_kg",
            Text(
                gettext_noop(
                    "The protocol sets no dose for this stage yet: the target cannot be derived."
                )
            ),
        )
    elif instance.weight_kg is not None:
        try:
            target_dose(instance.weight_kg, cells_per_kg=per_kg)
        except ScoringInputError as error:
            checks.error("weight_kg", _weight_problem(instance.weight_kg, error))
    before = previous_values(instance, ("given", "weight_kg"))
    if before.get("given") and before.get("weight_kg") not in (None, instance.weight_kg):
        checks.warn(
            "weight_kg",
            Text(
                gettext_noop(
                    "The dosing weight changed after the dose was given (%(before)s -> %(after)s "
                    "kg): the target is derived again from the new weight."
                ),
                before=before["weight_kg"],
                after=instance.weight_kg,
            ),
        )


def _check_administration(instance: Infusion, ctx: FormContext, checks: Checks) -> None:
    times = ("volume_ml", "start_time", "stop_time")
    if instance.given is True:
        for name in times:
            if getattr(instance, name) is None:
                checks.error(name, gettext("Required when the infusion was given."))
        if instance.not_given_reason.strip():
            checks.error("not_given_reason", gettext("Only when the infusion was not given."))
    elif instance.given is False:
        if not instance.not_given_reason.strip():
            checks.error("not_given_reason", gettext("Say why the infusion was not given."))
        for name in times:
            if getattr(instance, name) is not None:
                checks.error(name, gettext("Leave empty: the infusion was not given."))
    check_dates(instance, ("start_time", "stop_time"), ctx, checks)
    if instance.weight_date is not None:
        if instance.weight_date > ctx.today:
            checks.error("weight_date", gettext("The date is in the future."))
        elif ctx.consent_date is not None and instance.weight_date < ctx.consent_date:
            checks.error("weight_date", before_consent(ctx.consent_date))
    start, stop = instance.start_time, instance.stop_time
    if start is not None and stop is not None and stop <= start:
        checks.error("stop_time", gettext("The infusion must stop after it starts."))
    if start is not None and instance.weight_date is not None:
        infusion_day = local_date(start, ctx.participant.site.time_zone)
        if instance.weight_date > infusion_day:
            checks.error(
                "weight_date", gettext("The dosing weight is measured before the infusion.")
            )
        elif instance.weight_date < infusion_day - timedelta(days=WEIGHT_MAX_DAYS_BEFORE):
            checks.warn(
                "weight_date",
                Text(
                    gettext_noop(
                        "The weight is more than %(days)s days older than the infusion; please "
                        "confirm it is the Day-0 weight."
                    ),
                    days=WEIGHT_MAX_DAYS_BEFORE,
                ),
            )
    if instance.volume_ml is not None:
        planned = Decimal(repr(ctx.definition.dosing.volume_ml))
        tolerance_pct = ctx.definition.dosing.volume_tolerance_pct
        if not 0 < instance.volume_ml <= 1000:
            checks.error(
                "volume_ml",
                gettext("%(volume)s mL is impossible here.")
                % {"volume": decimal_text(show(instance.volume_ml))},
            )
        elif (
            tolerance_pct is not None
            and abs(instance.volume_ml - planned) > planned * Decimal(repr(tolerance_pct)) / 100
        ):
            checks.warn(
                "volume_ml",
                Text(
                    gettext_noop(
                        "The protocol infuses %(planned)s mL; %(volume)s mL differs by more than "
                        "%(tolerance)s %%."
                    ),
                    planned=planned,
                    volume=instance.volume_ml,
                    tolerance=Decimal(repr(tolerance_pct)),
                ),
            )
    _check_monitoring(instance, checks)
    if instance.interrupted and not instance.interruption_details.strip():
        checks.error("interruption_details", gettext("Describe the interruption."))
    if not instance.interrupted and instance.interruption_details.strip():
        checks.error("interruption_details", gettext("Only for an interrupted infusion."))


def _check_pregnancy_test(instance: Infusion, ctx: FormContext, checks: Checks) -> None:
    """A participant of childbearing potential is given the infusion only after a negative
    pregnancy test within the protocol's window; a positive one in the window refuses it."""
    hours = ctx.definition.dosing.pregnancy_test_within_hours
    if instance.given is not True or hours is None:
        return
    tests = PregnancyTest.objects.filter(participant=ctx.participant)
    if not tests.filter(applicable=True).exists():
        if ctx.participant.sex == Sex.FEMALE and not tests.filter(applicable=False).exists():
            checks.error(
                "given",
                gettext(
                    "No pregnancy form is recorded for this participant: record whether she is "
                    "of childbearing potential and, if so, a negative test in the %(hours)s hours "
                    "before the infusion."
                )
                % {"hours": hours},
            )
        return
    time_zone = ctx.participant.site.time_zone
    start = instance.start_time
    infusion_day = ctx.today
    earliest = infusion_day - timedelta(hours=hours)
    if start is not None and within_calendar(start, time_zone):
        try:
            earliest = local_date(start - timedelta(hours=hours), time_zone)
        except OverflowError:
            earliest = date.min
        infusion_day = local_date(start, time_zone)
    dated = tests.filter(applicable=True, test_date__isnull=False, test_date__lte=infusion_day)
    in_window = dated.filter(test_date__gte=earliest)
    positive = in_window.filter(result=PregnancyResult.POSITIVE).order_by("-test_date").first()
    if positive is None and in_window.filter(result=PregnancyResult.NEGATIVE).exists():
        return
    last = positive or dated.exclude(result="").order_by("-test_date").first()
    shown = (
        gettext("no test before the infusion")
        if last is None
        else gettext("last test: %(result)s on %(day)s")
        % {"result": last.result, "day": f"{last.test_date:%Y-%m-%d}"}
    )
    checks.error(
        "given",
        gettext("No negative pregnancy test in the %(hours)s hours before the infusion (%(test)s).")
        % {"hours": hours, "test": shown},
    )


def _check_monitoring(instance: Infusion, checks: Checks) -> None:
    for name in SPO2_FIELDS:
        check_range(instance, name, checks, hard=(50, 100), soft=(90, 100), unit="%")
    if instance.premedication_given and not instance.premedication_details.strip():
        checks.error("premedication_details", gettext("Name the premedication, its dose and time."))
    if not instance.premedication_given and instance.premedication_details.strip():
        checks.error("premedication_details", gettext("Only when a premedication was given."))


def _check_product(instance: Infusion, ctx: FormContext, checks: Checks) -> None:
    # Only the pharmacist sends these fields, so only the pharmacist reads these messages.
    check_range(instance, "viability_pct", checks, hard=(0, 100), unit="%")
    if instance.cell_count_1e6 is not None and instance.cell_count_1e6 < 0:
        checks.error("cell_count_1e6", gettext("A cell count cannot be negative."))
    if instance.endotoxin_eu_per_ml is not None and instance.endotoxin_eu_per_ml < 0:
        checks.error("endotoxin_eu_per_ml", gettext("An endotoxin level cannot be negative."))
    donor = instance.donor_code.strip()
    if donor and not re.fullmatch(ctx.definition.dosing.donor_code_pattern, donor):
        checks.error(
            "donor_code",
            gettext(
                "Enter the donor code from the cell-processing facility (capital letters, digits "
                "and dashes, with at least one digit), never the donor's name."
            ),
        )
    if Role.PHARMACIST in ctx.actor_roles:
        _check_custody(instance, ctx, checks)
        _check_bag_once(instance, ctx, checks)


def _check_custody(instance: Infusion, ctx: FormContext, checks: Checks) -> None:
    time_zone = ctx.participant.site.time_zone
    for name in ("received_at", "thawed_at", "dispensed_at"):
        value = getattr(instance, name)
        if value is None or not within_calendar(value, time_zone):
            continue
        if value > ctx.now:
            checks.error(name, gettext("The time is in the future."))
        elif ctx.consent_date is not None and local_date(value, time_zone) < ctx.consent_date:
            checks.error(name, before_consent(ctx.consent_date, time=True))
    for name, message in custody_order_problems(instance):
        checks.error(name, gettext(message))
    if instance.received_at is not None and not instance.received_by.strip():
        checks.error("received_by", gettext("Say who received the product at the site."))


def _check_bag_once(instance: Infusion, ctx: FormContext, checks: Checks) -> None:
    """A bag is given once only. The message names the other participant: only the pharmacist
    sends a bag identifier, so only an unblinded reader sees it."""
    bag = instance.bag_id.strip()
    if not bag:
        return
    other = (
        Infusion.objects.filter(bag_id=bag)
        .exclude(pk=instance.pk)
        .select_related("participant", "visit")
        .first()
    )
    if other is not None:
        who = other.participant.subject_id or other.participant.screening_number
        checks.error(
            "bag_id",
            gettext(
                "Bag %(bag)s is already recorded for participant %(participant)s (visit "
                "%(visit)s); a bag is given once only."
            )
            % {"bag": bag, "participant": who, "visit": other.visit.code},
        )


def _weight_problem(weight: Decimal | None, error: ScoringInputError) -> str:
    """The calculator's refusal of a dosing weight, in the language of whoever saves."""
    low, high = HARD_WEIGHT_LIMITS_KG
    if weight is not None and weight > 0 and not low <= weight <= high:
        return gettext("%(weight)s kg is outside the accepted range %(low)s-%(high)s kg.") % {
            "weight": decimal_text(str(weight)),
            "low": low,
            "high": high,
        }
    return error.message[:1].upper() + error.message[1:] + "."


def custody_order_problems(instance: Infusion) -> list[tuple[str, str]]:
    """Pairs of chain-of-custody times out of order: receipt <= thaw, dispensing <= start; each
    with its message in English (a `gettext_noop` msgid)."""
    problems = []
    for earlier, later in CUSTODY_ORDER:
        first, second = getattr(instance, earlier), getattr(instance, later)
        if first is not None and second is not None and second < first:
            problems.append(
                (
                    later if later != "start_time" else earlier,
                    CUSTODY_PROBLEMS[earlier, later],
                )
            )
    return problems


def release_failures(instance: Infusion, definition: ProtocolDefinition) -> list[str]:
    """The release results outside the protocol's limits, as sentences."""
    dosing = definition.dosing
    failures = []
    viability_min = _viability_min(definition)
    if (
        viability_min is not None
        and instance.viability_pct is not None
        and instance.viability_pct < viability_min
    ):
        failures.append(
            f"Viability {show(instance.viability_pct)} % is below {show(viability_min)} %"
        )
    if dosing.sterility_negative_required and instance.sterility_result == ReleaseResult.POSITIVE:
        failures.append("The sterility test is positive")
    if dosing.mycoplasma_negative_required and instance.mycoplasma_result == ReleaseResult.POSITIVE:
        failures.append("The mycoplasma test is positive")
    limit = dosing.endotoxin_max_eu_per_ml
    if (
        limit is not None
        and instance.endotoxin_eu_per_ml is not None
        and instance.endotoxin_eu_per_ml > Decimal(repr(limit))
    ):
        failures.append(
            f"Endotoxin {show(instance.endotoxin_eu_per_ml)} EU/mL is above "
            f"{show(Decimal(repr(limit)))} EU/mL"
        )
    return failures


def thaw_to_start_minutes(instance: Infusion) -> int | None:
    if instance.thawed_at is None or instance.start_time is None:
        return None
    return int((instance.start_time - instance.thawed_at).total_seconds() // 60)


def derive(instance: Infusion, ctx: FormContext) -> None:
    per_kg = dose_cells_per_kg(ctx.participant, ctx.definition)
    instance.dose_calculator = f"{WEIGHT_BASED_DOSE.name} {WEIGHT_BASED_DOSE.version}"
    instance.dose_cells_per_kg = per_kg
    target = None
    if per_kg is not None and instance.weight_kg is not None:
        target = target_dose(instance.weight_kg, cells_per_kg=per_kg).target_million_cells
    instance.target_million_cells = (
        target.quantize(Decimal("0.001")) if target is not None else None
    )
    findings: list[str] = []
    within: bool | None = None
    deviation: bool | None = None
    count = instance.cell_count_1e6
    if instance.given and count is not None:
        if _placebo(ctx.participant, ctx.definition):
            within, deviation = count == 0, count > 0
            if count > 0:
                findings.append(
                    f"{show(count)} x10^6 cells recorded for a placebo infusion: record a "
                    "protocol deviation."
                )
        elif target is not None:
            tolerance = _tolerance(ctx.definition)
            check = check_administered(target, count, tolerance=tolerance)
            within, deviation = check.within_tolerance, check.deviation_required
            if not check.within_tolerance:
                findings.append(
                    f"{show(count)} x10^6 viable cells administered is outside +/-"
                    f"{show(tolerance * 100)} % of the target {show(target)} x10^6 "
                    f"({show(check.lower_million_cells)} to {show(check.upper_million_cells)}): "
                    "record a protocol deviation with its reason."
                )
    if instance.given and instance.release_checks_passed is False:
        deviation = True
        findings.append("The product was given although its release checks did not pass.")
    failures = release_failures(instance, ctx.definition)
    for failure in failures:
        findings.append(f"{failure}; check the release specification.")
    if failures and instance.given:
        deviation = True
    if failures and instance.release_checks_passed:
        findings.append(
            "The release checks are recorded as passed although a result is outside the "
            "protocol's limits."
        )
    if instance.given and instance.storage_acceptable is False:
        deviation = True
        findings.append(
            "The product was given although its storage or temperature was not acceptable."
        )
    for _name, message in custody_order_problems(instance):
        findings.append(f"Chain of custody: {message}")
    minutes = thaw_to_start_minutes(instance)
    limit = ctx.definition.dosing.max_minutes_thaw_to_infusion
    if instance.given and minutes is not None and limit is not None and minutes > limit:
        deviation = True
        findings.append(
            f"The infusion started {minutes} minutes after the thaw or preparation, more than "
            f"the protocol's {limit} minutes: record a protocol deviation."
        )
    instance.within_tolerance = within
    instance.deviation_required = deviation
    instance.dose_warnings = findings


def explain(instance: Infusion) -> str:
    # Shown to every reader, so it names the rule and never a value that reveals the arm.
    tolerance = definition_of(instance.protocol_version).dosing.tolerance_pct
    return gettext(
        "%(calculator)s: target viable cells = dose (cells/kg) of the stage or cohort x dosing "
        "weight; the cells administered must lie within +/-%(tolerance)s %% of the target, and a "
        "placebo infusion holds none. Product values and the dose check are shown to unblinded "
        "roles only."
    ) % {
        "calculator": instance.dose_calculator or WEIGHT_BASED_DOSE.name,
        "tolerance": f"{tolerance:g}",
    }


INFUSION = FormType(
    code="infusion",
    label=gettext_noop("Study infusion"),
    model=Infusion,
    scope=FormScope.VISIT,
    fields=(*SITE_FIELDS, *PHARMACY_FIELDS),
    required=("weight_kg", "weight_date", "given"),
    date_fields=(
        "weight_date",
        "start_time",
        "stop_time",
        "received_at",
        "thawed_at",
        "dispensed_at",
    ),
    derived=DERIVED_FIELDS,
    revealing=REVEALING,
    editors=EDITORS,
    field_editors={name: PHARMACY for name in PHARMACY_FIELDS},
    efficacy=False,
    validate=validate,
    derive=derive,
    explain=explain,
    fieldsets=(
        ("Dosing weight", ("weight_kg", "weight_date")),
        (
            "Administration",
            (
                "given",
                "not_given_reason",
                "volume_ml",
                "start_time",
                "stop_time",
                "interrupted",
                "interruption_details",
            ),
        ),
        (
            "Infusion monitoring",
            ("premedication_given", "premedication_details", *SPO2_FIELDS),
        ),
        ("Product (pharmacy)", ("kit_number", "product_lot", "bag_id", "donor_code")),
        ("Release results (pharmacy)", ("cell_count_1e6", *RELEASE_FIELDS)),
        ("Chain of custody (pharmacy)", CUSTODY_FIELDS),
    ),
)

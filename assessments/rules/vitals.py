"""Vital signs: one record per timepoint per visit, infusion timepoints at dosing visits only."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import VitalSigns
from assessments.models.vitals import INFUSION_TIMEPOINTS, Timepoint
from assessments.rules.base import Checks, FormContext, check_dates, check_range
from assessments.rules.common import coerce
from ecrf.access import SITE_STAFF_ROLES

MEASUREMENTS: tuple[str, ...] = (
    "systolic",
    "diastolic",
    "heart_rate",
    "temperature_c",
    "respiratory_rate",
    "weight_kg",
)
FIELDS: tuple[str, ...] = ("timepoint", "measured_at", *MEASUREMENTS)
# (impossible outside, unusual outside, unit) for adults.
RANGES: dict[str, tuple[tuple[float, float], tuple[float, float], str]] = {
    "systolic": ((50, 300), (80, 180), "mmHg"),
    "diastolic": ((20, 200), (40, 110), "mmHg"),
    "heart_rate": ((20, 250), (40, 130), gettext_noop("beats/min")),
    "temperature_c": ((30, 45), (35.5, 38.0), "°C"),
    "respiratory_rate": ((4, 80), (8, 30), gettext_noop("breaths/min")),
}


def validate(instance: VitalSigns, ctx: FormContext, checks: Checks) -> None:
    if not coerce(instance, FIELDS, ctx, checks):
        return
    visit = ctx.visit
    assert visit is not None  # the service requires a visit for a repeating form
    label = Timepoint(instance.timepoint).label
    if instance.timepoint in INFUSION_TIMEPOINTS and not visit.dosing:
        checks.error(
            "timepoint",
            gettext(
                "%(timepoint)s is an infusion timepoint: it is recorded at a dosing visit only."
            )
            % {"timepoint": label},
        )
    # A record kept at its visit and timepoint holds them already: the database would have
    # refused a second one.
    unchanged = instance.pk is not None and ctx.stored.get("timepoint") == instance.timepoint
    duplicate = (
        not unchanged
        and VitalSigns.objects.filter(visit=visit, timepoint=instance.timepoint)
        .exclude(pk=instance.pk)
        .exists()
    )
    if duplicate:
        checks.error(
            "timepoint",
            gettext(
                "Vital signs at timepoint '%(timepoint)s' are already entered for visit "
                "%(visit)s; change that record instead."
            )
            % {"timepoint": label, "visit": visit.code},
        )
    check_dates(instance, ("measured_at",), ctx, checks)
    if all(getattr(instance, name) is None for name in MEASUREMENTS):
        checks.error("systolic", gettext("Enter at least one measurement."))
    if (instance.systolic is None) != (instance.diastolic is None):
        missing = "systolic" if instance.systolic is None else "diastolic"
        checks.error(missing, gettext("Give both systolic and diastolic pressure."))
    for name, (hard, soft, unit) in RANGES.items():
        check_range(instance, name, checks, hard=hard, soft=soft, unit=unit)
    if (
        instance.systolic is not None
        and instance.diastolic is not None
        and instance.diastolic >= instance.systolic
    ):
        checks.error("diastolic", gettext("The diastolic pressure must be below the systolic."))
    dosing = ctx.definition.dosing
    check_range(
        instance,
        "weight_kg",
        checks,
        hard=dosing.weight_hard_limits_kg,
        soft=dosing.weight_soft_limits_kg,
        unit="kg",
    )


VITALS = FormType(
    code="vitals",
    label=gettext_noop("Vital signs"),
    model=VitalSigns,
    scope=FormScope.REPEATING,
    fields=FIELDS,
    required=("timepoint", "measured_at"),
    date_fields=("measured_at",),
    editors=SITE_STAFF_ROLES,
    # Not an efficacy form: the pharmacist may read the vital signs taken around the infusion.
    efficacy=False,
    validate=validate,
    # `validate` refuses a second record of the timepoint at the visit.
    checked_constraints=frozenset({"assessments_vitalsigns_once_per_timepoint"}),
    fieldsets=(
        ("Timepoint", ("timepoint", "measured_at")),
        ("Measurements", MEASUREMENTS),
    ),
)

"""Pregnancy report: edit checks, the exposure read from the infusion forms, the 24-hour
reporting clock and the follow-up to the outcome."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import Infusion
from assessments.rules.base import Checks, FormContext, check_dates
from assessments.rules.common import coerce
from ecrf.access import SITE_STAFF_ROLES
from ecrf.messages import Text
from ecrf.site_time import local_date, local_midnight, site_clock_text
from safety.models import AdverseEvent, PregnancyOutcome, PregnancyReport

# Site -> sponsor, from the site's awareness, as for an SAE.
PREGNANCY_REPORT_WINDOW = timedelta(hours=24)
# The outcome is chased this long after the estimated due date (protocol parameter
# `pregnancy_outcome_grace_days` when a protocol gives one).
PREGNANCY_OUTCOME_GRACE_DAYS = 30
# Naegele's rule: the due date is 280 days after the last menstrual period, 266 after
# conception. An estimate more than 4 weeks from it is taken for a typing error.
GESTATION_FROM_LMP = timedelta(days=280)
GESTATION_FROM_CONCEPTION = timedelta(days=266)
DUE_DATE_TOLERANCE = timedelta(days=28)
# A pregnancy lasts at most about 44 weeks: a due date further from awareness is absurd.
LONGEST_PREGNANCY = timedelta(weeks=44)

FIELDS: tuple[str, ...] = (
    "site_awareness_at",
    "last_menstrual_period",
    "estimated_conception_date",
    "estimated_due_date",
    "exposure_details",
    "sponsor_reported_at",
    "outcome",
    "outcome_date",
    "outcome_details",
    "follow_up",
)
# Outcomes that end the pregnancy on a date.
_PENDING = frozenset({"", PregnancyOutcome.ONGOING})
_NO_DATE = frozenset({PregnancyOutcome.LOST_TO_FOLLOW_UP, PregnancyOutcome.UNKNOWN})


def exposure_dates(report: PregnancyReport) -> list[date]:
    """The days the participant was given a study infusion (on the site's calendar); the
    product given is not read."""
    zone = report.participant.site.time_zone
    days = set()
    for start, actual in Infusion.objects.filter(
        participant_id=report.participant_id, given=True
    ).values_list("start_time", "visit__actual_date"):
        day = local_date(start, zone) if start is not None else actual
        if day is not None:
            days.add(day)
    return sorted(days)


def _check_dates(report: PregnancyReport, ctx: FormContext, checks: Checks) -> None:
    aware = report.site_awareness_at
    aware_day = local_date(aware, ctx.participant.site.time_zone) if aware else None
    lmp, conception = report.last_menstrual_period, report.estimated_conception_date
    due = report.estimated_due_date
    # The LMP and conception may precede consent; awareness and the report may not.
    check_dates(report, ("site_awareness_at", "sponsor_reported_at"), ctx, checks)
    for name in ("last_menstrual_period", "estimated_conception_date", "outcome_date"):
        value = getattr(report, name)
        if value is not None and value > ctx.today:
            checks.error(name, gettext("The date is in the future."))
    if lmp is None and conception is None:
        checks.warn(
            "last_menstrual_period",
            Text(gettext_noop("Give the last menstrual period or the estimated conception date.")),
        )
    if lmp is not None and conception is not None and conception < lmp:
        checks.error(
            "estimated_conception_date",
            gettext("Conception cannot precede the last menstrual period (%(lmp)s).")
            % {"lmp": f"{lmp:%Y-%m-%d}"},
        )
    if due is not None:
        expected = (
            lmp + GESTATION_FROM_LMP
            if lmp is not None
            else conception + GESTATION_FROM_CONCEPTION
            if conception is not None
            else None
        )
        if expected is not None and abs(due - expected) > DUE_DATE_TOLERANCE:
            checks.error(
                "estimated_due_date",
                (
                    gettext(
                        "A due date of %(due)s is more than 4 weeks from the one the last "
                        "menstrual period gives (%(expected)s); check both dates."
                    )
                    if lmp
                    else gettext(
                        "A due date of %(due)s is more than 4 weeks from the one the conception "
                        "date gives (%(expected)s); check both dates."
                    )
                )
                % {"due": f"{due:%Y-%m-%d}", "expected": f"{expected:%Y-%m-%d}"},
            )
        elif aware_day is not None and not (
            aware_day - LONGEST_PREGNANCY <= due <= aware_day + LONGEST_PREGNANCY
        ):
            checks.error(
                "estimated_due_date",
                gettext(
                    "A due date of %(due)s is more than 44 weeks from the day the site became "
                    "aware (%(aware)s); check the date."
                )
                % {"due": f"{due:%Y-%m-%d}", "aware": f"{aware_day:%Y-%m-%d}"},
            )
    reported = report.sponsor_reported_at
    if reported is not None and aware is not None and reported < aware:
        checks.error(
            "sponsor_reported_at", gettext("The report cannot reach the sponsor before awareness.")
        )


def _check_outcome(report: PregnancyReport, ctx: FormContext, checks: Checks) -> None:
    outcome, day = report.outcome, report.outcome_date
    aware = report.site_awareness_at
    if outcome in _PENDING or outcome in _NO_DATE:
        if day is not None:
            checks.error(
                "outcome_date", gettext("Give an outcome date only for an outcome that ended it.")
            )
    elif day is None:
        checks.error("outcome_date", gettext("Give the date of the outcome."))
    if day is not None and aware is not None:
        aware_day = local_date(aware, ctx.participant.site.time_zone)
        if day < aware_day:
            checks.error(
                "outcome_date",
                gettext(
                    "The outcome date is before the site became aware of the pregnancy (%(aware)s)."
                )
                % {"aware": f"{aware_day:%Y-%m-%d}"},
            )
    lmp = report.last_menstrual_period or report.estimated_conception_date
    if day is not None and lmp is not None and day < lmp:
        checks.error("outcome_date", gettext("The outcome cannot precede the pregnancy."))
    if outcome == PregnancyOutcome.CONGENITAL_ANOMALY:
        reported = AdverseEvent.objects.filter(
            participant_id=ctx.participant.pk, congenital_anomaly=True
        ).exists()
        if not reported:
            checks.warn(
                "outcome",
                Text(
                    gettext_noop(
                        "A congenital anomaly is a serious adverse event: report it as an SAE "
                        "(adverse event with the congenital anomaly criterion) within 24 hours."
                    )
                ),
            )


def validate(report: PregnancyReport, ctx: FormContext, checks: Checks) -> None:
    if not coerce(report, FIELDS, ctx, checks):
        return
    for name in ("exposure_details", "outcome_details", "follow_up"):
        setattr(report, name, (getattr(report, name) or "").strip())
    _check_dates(report, ctx, checks)
    _check_outcome(report, ctx, checks)


def derive(report: PregnancyReport, ctx: FormContext) -> None:
    zone = ctx.participant.site.time_zone
    report.exposed_infusion_dates = ", ".join(f"{day:%Y-%m-%d}" for day in exposure_dates(report))
    report.report_due_at = (
        report.site_awareness_at + PREGNANCY_REPORT_WINDOW if report.site_awareness_at else None
    )
    grace = int(ctx.parameter("pregnancy_outcome_grace_days", PREGNANCY_OUTCOME_GRACE_DAYS))
    report.outcome_due_at = (
        local_midnight(report.estimated_due_date + timedelta(days=grace + 1), zone)
        if report.estimated_due_date is not None and report.outcome in _PENDING
        else None
    )


def explain(report: PregnancyReport) -> str:
    zone = report.participant.site.time_zone
    parts = [
        "Study infusions given: "
        + (report.exposed_infusion_dates or "none recorded")
        + " (from the infusion forms)"
    ]
    if report.report_due_at is not None:
        parts.append(
            f"Report due to the sponsor {site_clock_text(report.report_due_at, zone)} "
            "(awareness + 24 h)"
        )
    if report.outcome_due_at is not None:
        parts.append(
            f"Outcome to follow up by {site_clock_text(report.outcome_due_at, zone)} "
            f"(estimated due date + grace)"
        )
    return "; ".join(parts) + "."


PREGNANCY_REPORT = FormType(
    code="pregnancy_report",
    label="Pregnancy report",
    model=PregnancyReport,
    scope=FormScope.LOG,
    fields=FIELDS,
    required=("site_awareness_at",),
    # The last period and conception may precede consent.
    date_fields=("outcome_date",),
    derived=("exposed_infusion_dates", "report_due_at", "outcome_due_at"),
    # Infusion dates say a dose was given, never which product: nothing reveals the arm.
    revealing=(),
    editors=SITE_STAFF_ROLES,
    validate=validate,
    derive=derive,
    explain=explain,
    fieldsets=(
        (
            "Pregnancy",
            (
                "site_awareness_at",
                "last_menstrual_period",
                "estimated_conception_date",
                "estimated_due_date",
            ),
        ),
        ("Exposure to study treatment", ("exposure_details",)),
        ("Report to the sponsor", ("sponsor_reported_at",)),
        ("Outcome", ("outcome", "outcome_date", "outcome_details", "follow_up")),
    ),
)

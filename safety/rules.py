"""Adverse events: edit checks, seriousness, causality, SUSAR and the reporting clocks."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive
from django.utils.translation import gettext, gettext_noop

from assessments.forms_kit import FormScope, FormType
from assessments.models import Infusion
from assessments.models.base import PARTIAL_DATE
from assessments.rules.base import (
    OUTSIDE_CALENDAR,
    Checks,
    FormContext,
    before_consent,
    local_time_problem,
    within_calendar,
)
from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.messages import Text
from ecrf.site_time import LocalTimeError, local_date, local_instant, site_clock_text
from safety.models import (
    CODED_FIELDS,
    RELATED_CAUSALITY,
    SERIOUSNESS_FIELDS,
    ActionTaken,
    AdverseEvent,
    AesiCategory,
    Causality,
    Expectedness,
    Outcome,
)
from safety.notifications import sae_escalation_notify
from trials.protocol import DoseLimitingToxicity

# Investigator -> sponsor, from the site's awareness (EU 536/2014 Art. 41).
SAE_REPORT_WINDOW = timedelta(hours=24)
# Sponsor -> regulators, from the sponsor's first knowledge (ICH E2A), in calendar days.
SUSAR_FATAL_WINDOW = timedelta(days=7)
SUSAR_OTHER_WINDOW = timedelta(days=15)
# After a fatal or life-threatening SUSAR's 7-day report, its follow-up within 8 more days.
SUSAR_FOLLOWUP_WINDOW = timedelta(days=8)

SITE_FIELDS: tuple[str, ...] = (
    "verbatim_term",
    "onset_date",
    "end_date",
    "ongoing",
    "ctcae_grade",
    *SERIOUSNESS_FIELDS,
    "investigator_causality",
    "action_taken",
    "outcome",
    "special_interest",
    "aesi_category",
    "site_awareness_at",
    "sae_reported_at",
)
MEDICAL_MONITOR_FIELDS: tuple[str, ...] = (
    "sponsor_causality",
    "expectedness",
    "sponsor_awareness_at",
    "sponsor_fatal_awareness_at",
    "susar_reported_at",
    "susar_followup_reported_at",
)
MEDICAL_MONITOR = frozenset({Role.MEDICAL_MONITOR})
# Coding happens outside the eCRF; data management re-imports the codes.
CODERS = frozenset({Role.DATA_MANAGER, Role.CODER})

_CHOICES: dict[str, type[Any]] = {
    "investigator_causality": Causality,
    "sponsor_causality": Causality,
    "action_taken": ActionTaken,
    "outcome": Outcome,
    "aesi_category": AesiCategory,
    "expectedness": Expectedness,
}
_ENDED_OUTCOMES = frozenset({Outcome.RECOVERED, Outcome.RECOVERED_WITH_SEQUELAE, Outcome.FATAL})


class ClockState(StrEnum):
    DUE = "report due"
    ON_TIME = "reported on time"
    LATE = "reported late"
    OVERDUE = "overdue"
    NO_DEADLINE = "no deadline"


def clock_state(due: datetime | None, reported: datetime | None, now: datetime) -> ClockState:
    """Where a reporting clock stands at `now`: a deadline met exactly is on time."""
    if due is None:
        return ClockState.NO_DEADLINE
    if reported is not None:
        return ClockState.ON_TIME if reported <= due else ClockState.LATE
    return ClockState.OVERDUE if now > due else ClockState.DUE


def partial_bounds(value: str) -> tuple[date, date]:
    """The first and last day a partial date (YYYY, YYYY-MM, YYYY-MM-DD) may stand for.

    Raise ValueError when it is not a real date in one of those forms.
    """
    try:
        PARTIAL_DATE(value)
    except ValidationError:
        raise ValueError(value) from None
    parts = [int(part) for part in value.split("-")]
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    if len(parts) == 2:
        last = calendar.monthrange(parts[0], parts[1])[1]
        return date(parts[0], parts[1], 1), date(parts[0], parts[1], last)
    day = date(parts[0], parts[1], parts[2])
    return day, day


def is_related(causality: str) -> bool:
    return causality in RELATED_CAUSALITY


def is_susar(ae: AdverseEvent) -> bool:
    """Serious, related by the investigator or the sponsor, and unexpected."""
    return (
        any(getattr(ae, name) for name in SERIOUSNESS_FIELDS)
        and (is_related(ae.investigator_causality) or is_related(ae.sponsor_causality))
        and ae.expectedness == Expectedness.UNEXPECTED
    )


def fatal_or_life_threatening(ae: AdverseEvent) -> bool:
    return bool(ae.death or ae.outcome == Outcome.FATAL or ae.life_threatening)


def susar_window(ae: AdverseEvent) -> timedelta:
    return SUSAR_FATAL_WINDOW if fatal_or_life_threatening(ae) else SUSAR_OTHER_WINDOW


def fatal_knowledge_at(ae: AdverseEvent) -> datetime | None:
    """When the sponsor first knew the event was fatal or life-threatening: the time the
    medical monitor recorded, or, when none is recorded, the sponsor's first knowledge (the
    event was fatal or life-threatening when the sponsor first heard of it)."""
    if not fatal_or_life_threatening(ae):
        return None
    return ae.sponsor_fatal_awareness_at or ae.sponsor_awareness_at


def susar_due(ae: AdverseEvent) -> datetime | None:
    """When the expedited report of a SUSAR is due to the regulators (ICH E2A; EU CT-3).

    A SUSAR that is not fatal or life-threatening is due 15 days after the sponsor's first
    knowledge. A fatal or life-threatening one is due 7 days after the sponsor first knew
    that it was so. When that knowledge came later than the first (a 15-day SUSAR upgraded),
    the report is due at the earlier of the 15-day deadline still running and 7 days from
    the upgrade: an upgrade never gives the sponsor more time than it had, and never less
    than 7 days from learning of it (unless the 15 days end sooner).
    """
    if not ae.susar or ae.sponsor_awareness_at is None:
        return None
    other = ae.sponsor_awareness_at + SUSAR_OTHER_WINDOW
    fatal_known = fatal_knowledge_at(ae)
    if fatal_known is None:
        return other
    return min(other, fatal_known + SUSAR_FATAL_WINDOW)


def susar_followup_due(ae: AdverseEvent) -> datetime | None:
    """When the follow-up report of a fatal or life-threatening SUSAR is due: 8 days after its
    initial (7-day) report was submitted.

    When the initial report was submitted before the sponsor knew the event was fatal or
    life-threatening (a 15-day report made before the upgrade), the new information is itself
    the follow-up and is due 7 days after the sponsor learned it.
    """
    fatal_known = fatal_knowledge_at(ae)
    if not ae.susar or ae.susar_reported_at is None or fatal_known is None:
        return None
    if ae.susar_reported_at < fatal_known:
        return fatal_known + SUSAR_FATAL_WINDOW
    return ae.susar_reported_at + SUSAR_FOLLOWUP_WINDOW


def _partial_date(ae: AdverseEvent, name: str, checks: Checks) -> tuple[date, date] | None:
    value = getattr(ae, name)
    if value in (None, ""):
        return None
    if isinstance(value, date):
        value = value.isoformat()
        setattr(ae, name, value)
    try:
        return partial_bounds(str(value))
    except ValueError:
        checks.error(name, gettext("Give a real date as YYYY, YYYY-MM or YYYY-MM-DD."))
        return None


def _moment(ae: AdverseEvent, name: str, ctx: FormContext, checks: Checks) -> datetime | None:
    """An aware instant, not in the future and not before consent; a time typed without a
    zone is taken as the site's local time."""
    value = getattr(ae, name)
    if value in (None, ""):
        setattr(ae, name, None)
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        checks.error(name, gettext("Give a date and a time."))
        return None
    if is_naive(parsed):
        try:
            parsed = local_instant(parsed, ctx.participant.site.time_zone)
        except LocalTimeError as error:
            checks.error(name, local_time_problem(error))
            setattr(ae, name, None)
            return None
    if not within_calendar(parsed, ctx.participant.site.time_zone):
        checks.error(name, gettext(OUTSIDE_CALENDAR))
        setattr(ae, name, None)
        return None
    setattr(ae, name, parsed)
    if parsed > ctx.now:
        checks.error(name, gettext("The time is in the future."))
    day = local_date(parsed, ctx.participant.site.time_zone)
    if ctx.consent_date is not None and day < ctx.consent_date:
        checks.error(name, before_consent(ctx.consent_date))
    return parsed


def _check_choices(ae: AdverseEvent, checks: Checks) -> None:
    for name, choices in _CHOICES.items():
        value = getattr(ae, name)
        if value not in (None, "") and value not in choices.values:
            checks.error(
                name,
                gettext("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)},
            )
    grade = ae.ctcae_grade
    if grade is not None:
        try:
            ae.ctcae_grade = int(grade)
        except (TypeError, ValueError):
            ae.ctcae_grade = None
        if ae.ctcae_grade is None or not 1 <= ae.ctcae_grade <= 5:
            checks.error("ctcae_grade", gettext("CTCAE grades run from 1 to 5."))


def _check_dates(ae: AdverseEvent, ctx: FormContext, checks: Checks) -> tuple[date, date] | None:
    onset = _partial_date(ae, "onset_date", checks)
    end = _partial_date(ae, "end_date", checks)
    if onset is not None:
        if onset[0] > ctx.today:
            checks.error("onset_date", gettext("The date is in the future."))
        if ctx.consent_date is not None and onset[1] < ctx.consent_date:
            checks.warn(
                "onset_date",
                Text(
                    gettext_noop(
                        "Onset is before informed consent (%(consent)s): is this medical history?"
                    ),
                    consent=ctx.consent_date.isoformat(),
                ),
            )
    if end is not None and end[0] > ctx.today:
        checks.error("end_date", gettext("The date is in the future."))
    if onset is not None and end is not None:
        # Compare at the precision both dates share: "2026-04" is not before "2026-04-17".
        shared = min(len(ae.onset_date), len(ae.end_date))
        if ae.end_date[:shared] < ae.onset_date[:shared]:
            checks.error(
                "end_date",
                gettext("The end is before the onset (%(onset)s).") % {"onset": ae.onset_date},
            )
    if ae.ongoing and ae.end_date:
        checks.error("end_date", gettext("An ongoing event has no end date."))
    if ae.ongoing and ae.outcome in _ENDED_OUTCOMES:
        checks.error(
            "ongoing",
            gettext("An event with outcome %(outcome)s is not ongoing.") % {"outcome": ae.outcome},
        )
    return onset


def _check_seriousness(
    ae: AdverseEvent, onset: tuple[date, date] | None, ctx: FormContext, checks: Checks
) -> None:
    serious = any(getattr(ae, name) for name in SERIOUSNESS_FIELDS)
    if ae.ctcae_grade == 5:
        if ae.outcome != Outcome.FATAL:
            checks.error("outcome", gettext("Grade 5 is death: the outcome must be fatal."))
        if not ae.death:
            checks.error(
                "death", gettext("Grade 5 is death: tick the death seriousness criterion.")
            )
    if ae.outcome == Outcome.FATAL and not ae.death:
        checks.error("death", gettext("A fatal event is serious: tick the death criterion."))
    if ae.death and ae.outcome not in ("", Outcome.FATAL):
        checks.error("outcome", gettext("An event that resulted in death has outcome fatal."))
    if ae.outcome == Outcome.FATAL and ae.ctcae_grade not in (None, 5):
        checks.warn(
            "ctcae_grade",
            Text(gettext_noop("A fatal event is graded 5 in CTCAE; please confirm the grade.")),
        )

    awareness = _moment(ae, "site_awareness_at", ctx, checks)
    reported = _moment(ae, "sae_reported_at", ctx, checks)
    if serious and awareness is None and not checks.errors.get("site_awareness_at"):
        checks.error(
            "site_awareness_at",
            gettext("Required for a serious event: when the site learned of it."),
        )
    if (
        awareness is not None
        and onset is not None
        and local_date(awareness, ctx.participant.site.time_zone) < onset[0]
    ):
        checks.error(
            "site_awareness_at", gettext("The site cannot learn of the event before onset.")
        )
    if reported is not None and awareness is not None and reported < awareness:
        checks.error(
            "sae_reported_at", gettext("The report cannot reach the sponsor before awareness.")
        )
    if not serious and (reported is not None or awareness is not None):
        checks.warn(
            "serious",
            Text(
                gettext_noop(
                    "The event is not serious now; its SAE report times are kept as history."
                )
            ),
        )
    if serious and not ae.investigator_causality:
        checks.warn(
            "investigator_causality",
            Text(gettext_noop("Give the investigator's causality: the SAE report needs it.")),
        )


def _check_sponsor(ae: AdverseEvent, ctx: FormContext, checks: Checks) -> None:
    serious = any(getattr(ae, name) for name in SERIOUSNESS_FIELDS)
    sponsor_aware = _moment(ae, "sponsor_awareness_at", ctx, checks)
    fatal_aware = _moment(ae, "sponsor_fatal_awareness_at", ctx, checks)
    susar_reported = _moment(ae, "susar_reported_at", ctx, checks)
    followup_reported = _moment(ae, "susar_followup_reported_at", ctx, checks)
    if fatal_aware is not None:
        if sponsor_aware is None:
            checks.error(
                "sponsor_fatal_awareness_at",
                gettext("Record the sponsor's first knowledge of the event."),
            )
        elif fatal_aware < sponsor_aware:
            checks.error(
                "sponsor_fatal_awareness_at",
                gettext(
                    "The sponsor cannot learn the event was fatal or life-threatening before it "
                    "first knew of the event."
                ),
            )
        if not fatal_or_life_threatening(ae):
            checks.warn(
                "sponsor_fatal_awareness_at",
                Text(
                    gettext_noop(
                        "The event is not fatal or life-threatening now; this time does not count."
                    )
                ),
            )
    if followup_reported is not None:
        if susar_reported is None:
            checks.error(
                "susar_followup_reported_at", gettext("Record the initial expedited report first.")
            )
        elif followup_reported < susar_reported:
            checks.error(
                "susar_followup_reported_at",
                gettext("The follow-up report cannot precede the initial expedited report."),
            )
    if (
        is_related(ae.investigator_causality)
        and ae.sponsor_causality
        and not is_related(ae.sponsor_causality)
    ):
        checks.warn(
            "sponsor_causality",
            Text(
                gettext_noop(
                    "The sponsor's causality (%(sponsor)s) does not downgrade the investigator's "
                    "(%(investigator)s): both are kept and the event counts as related."
                ),
                sponsor=Text(Causality(ae.sponsor_causality).label).as_param(lower=True),
                investigator=Text(Causality(ae.investigator_causality).label).as_param(lower=True),
            ),
        )
    if not serious and (ae.sponsor_causality or ae.expectedness):
        checks.warn(
            "sponsor_causality",
            Text(gettext_noop("The sponsor's assessment is for serious events.")),
        )
    susar = is_susar(ae)
    if susar and sponsor_aware is None and not checks.errors.get("sponsor_awareness_at"):
        checks.warn(
            "sponsor_awareness_at",
            Text(
                gettext_noop(
                    "This is a SUSAR: record when the sponsor first knew of it; the clock starts "
                    "then."
                )
            ),
        )
    if sponsor_aware is not None and ae.sae_reported_at and ae.sae_reported_at < sponsor_aware:
        checks.warn(
            "sponsor_awareness_at",
            Text(
                gettext_noop(
                    "The site's report reached the sponsor before this time; the SUSAR clock "
                    "starts at first knowledge."
                )
            ),
        )
    if susar_reported is not None:
        if sponsor_aware is not None and susar_reported < sponsor_aware:
            checks.error(
                "susar_reported_at",
                gettext("The expedited report cannot precede the sponsor's knowledge."),
            )
        if not susar:
            checks.warn("susar_reported_at", Text(gettext_noop("The event is not a SUSAR now.")))


def validate(ae: AdverseEvent, ctx: FormContext, checks: Checks) -> None:
    term = (ae.verbatim_term or "").strip()
    ae.verbatim_term = term
    if not term:
        checks.error("verbatim_term", gettext("Required."))
    _check_choices(ae, checks)
    onset = _check_dates(ae, ctx, checks)
    _check_seriousness(ae, onset, ctx, checks)
    _check_sponsor(ae, ctx, checks)
    if ae.special_interest and not ae.aesi_category:
        checks.error("aesi_category", gettext("Give the category of special interest."))
    if ae.aesi_category and not ae.special_interest:
        checks.error("aesi_category", gettext("Only for an adverse event of special interest."))
    coded = [name for name in CODED_FIELDS if name != "dictionary_version" and getattr(ae, name)]
    if coded and not ae.dictionary_version:
        checks.error(
            "dictionary_version", gettext("Give the dictionary version the term was coded with.")
        )


def meets_dlt(
    dlt: DoseLimitingToxicity,
    *,
    grade: int | None,
    causality: str,
    aesi_category: str,
    onset: tuple[date, date] | None,
    infusion_days: Iterable[date],
) -> bool:
    """Whether an adverse event meets a dose-limiting toxicity definition: at least the
    minimum CTCAE grade, related (possible, probable or definite) unless the definition
    counts every event or the event is one of its named events (AESI categories), and with
    an onset from an infusion day to `window_days` after it. A partial onset date counts
    when the days it may stand for meet the window."""
    if grade is None or grade < dlt.min_grade or onset is None:
        return False
    if dlt.related_only and not is_related(causality) and aesi_category not in dlt.events:
        return False
    first, last = onset
    return any(
        first <= day + timedelta(days=dlt.window_days) and last >= day for day in infusion_days
    )


def _dlt_definition(participant: Any, definition: Any) -> DoseLimitingToxicity | None:
    if participant.cohort_id is None:
        return None
    for stage in definition.stages:
        if stage.code == participant.stage_code and stage.kind == "dose_escalation":
            return stage.dlt
    return None


def dose_limiting(ae: AdverseEvent, participant: Any, definition: Any) -> bool | None:
    """Whether the event meets the DLT definition of the participant's dose-escalation stage,
    read against the days of the infusions given; None outside a dose-escalation cohort."""
    dlt = _dlt_definition(participant, definition)
    if dlt is None:
        return None
    try:
        onset = partial_bounds(ae.onset_date) if ae.onset_date else None
    except ValueError:
        onset = None
    time_zone = participant.site.time_zone
    starts = Infusion.objects.filter(
        participant=participant, given=True, start_time__isnull=False
    ).values_list("start_time", flat=True)
    return meets_dlt(
        dlt,
        grade=ae.ctcae_grade,
        causality=ae.investigator_causality,
        aesi_category=ae.aesi_category,
        onset=onset,
        infusion_days=[local_date(start, time_zone) for start in starts if start is not None],
    )


def derive(ae: AdverseEvent, ctx: FormContext) -> None:
    ae.dose_limiting = dose_limiting(ae, ctx.participant, ctx.definition)
    ae.serious = any(getattr(ae, name) for name in SERIOUSNESS_FIELDS)
    ae.related = is_related(ae.investigator_causality) if ae.investigator_causality else None
    ae.sae_report_due_at = (
        ae.site_awareness_at + SAE_REPORT_WINDOW
        if ae.serious and ae.site_awareness_at is not None
        else None
    )
    ae.susar = is_susar(ae)
    ae.susar_due_at = susar_due(ae)
    ae.susar_followup_due_at = susar_followup_due(ae)


def explain(ae: AdverseEvent) -> str:
    if not ae.serious:
        return gettext("Not serious: no seriousness criterion ticked.")
    zone = ae.participant.site.time_zone
    criteria = ", ".join(name.replace("_", " ") for name in SERIOUSNESS_FIELDS if getattr(ae, name))
    parts = [f"Serious ({criteria})"]
    if ae.sae_report_due_at is not None:
        parts.append(
            f"SAE report due {site_clock_text(ae.sae_report_due_at, zone)} (awareness + 24 h)"
        )
    if ae.susar:
        days = susar_window(ae).days
        upgraded = ae.sponsor_fatal_awareness_at is not None and fatal_or_life_threatening(ae)
        start = (
            "the earlier of the sponsor's first knowledge + 15 days and its knowledge that "
            "the event is fatal or life-threatening + 7 days"
            if upgraded
            else f"sponsor's first knowledge + {days} days"
        )
        parts.append(
            f"SUSAR (serious, related, unexpected): due {site_clock_text(ae.susar_due_at, zone)} "
            f"({start})"
            if ae.susar_due_at is not None
            else f"SUSAR: {days}-day clock waits for the sponsor's first knowledge"
        )
        if ae.susar_followup_due_at is not None:
            parts.append(
                "SUSAR follow-up report due "
                f"{site_clock_text(ae.susar_followup_due_at, zone)} (initial report + 8 days)"
            )
    return "; ".join(parts) + "."


def ready_to_sign(ae: AdverseEvent) -> list[str]:
    """What an adverse event lacks before the investigator signs it or it is locked: the
    grade, the investigator's causality, the outcome, the onset date, and the end date when the
    outcome says the event ended."""
    missing = []
    if ae.ctcae_grade is None:
        missing.append("the CTCAE grade")
    if not ae.investigator_causality:
        missing.append("the investigator's causality")
    if not ae.outcome:
        missing.append("the outcome")
    if not ae.onset_date:
        missing.append("the onset date")
    if ae.outcome in _ENDED_OUTCOMES and not ae.end_date:
        missing.append(f"the end date (the outcome is {str(Outcome(ae.outcome).label).lower()})")
    return missing


ADVERSE_EVENTS = FormType(
    code="adverse_events",
    label=gettext_noop("Adverse event"),
    model=AdverseEvent,
    scope=FormScope.LOG,
    fields=(*SITE_FIELDS, *CODED_FIELDS, *MEDICAL_MONITOR_FIELDS),
    required=("verbatim_term",),
    date_fields=("onset_date", "end_date"),
    derived=(
        "serious",
        "related",
        "sae_report_due_at",
        "susar",
        "susar_due_at",
        "susar_followup_due_at",
        "dose_limiting",
    ),
    # Nothing on an AE reveals the arm; a SUSAR is unblinded by the sponsor outside this form.
    revealing=(),
    editors=SITE_STAFF_ROLES,
    field_editors={
        **{name: MEDICAL_MONITOR for name in MEDICAL_MONITOR_FIELDS},
        **{name: CODERS for name in CODED_FIELDS},
    },
    validate=validate,
    derive=derive,
    explain=explain,
    ready_to_sign=ready_to_sign,
    after_save=sae_escalation_notify,
    fieldsets=(
        ("Event", ("verbatim_term", "onset_date", "end_date", "ongoing", "ctcae_grade")),
        ("Seriousness", SERIOUSNESS_FIELDS),
        ("Assessment", ("investigator_causality", "action_taken", "outcome")),
        ("Special interest", ("special_interest", "aesi_category")),
        ("SAE reporting", ("site_awareness_at", "sae_reported_at")),
        ("Sponsor assessment", MEDICAL_MONITOR_FIELDS),
        ("Coding", CODED_FIELDS),
    ),
)

"""The late-report job: SAEs and pregnancies not reported to the sponsor within 24 hours of
site awareness, SUSARs not reported within 7 or 15 days, the follow-up of a fatal or
life-threatening SUSAR not reported within 8 days of its initial report, and a pregnancy whose
outcome is still unknown after its due date and a grace, each raised once as an alert dated at
its deadline. Times in the messages are on the clock of the participant's site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model, Q
from django.utils.translation import gettext_noop

from accounts.services import system_actor
from alerts.models import Alert, AlertKind
from alerts.services import AlertSpec, alerts_email_pending, alerts_raise
from ecrf.messages import Text
from ecrf.services import heartbeat_record
from ecrf.site_time import site_clock_text
from safety.models import AdverseEvent, PregnancyOutcome, PregnancyReport

JOB_NAME = "flag_late_reports"


def _due(event: Any, field: str) -> str:
    return site_clock_text(getattr(event, field), event.participant.site.time_zone)


@dataclass(frozen=True)
class LateReport:
    """One kind of report that is late once its deadline passes without it."""

    kind: str
    model: type[Model]
    # The alert's link to the record: "adverse_event".
    link: str
    due_field: str
    pending: Q
    # The alert's text, its times on the clock of the participant's site.
    message: Callable[[Any], Text]


LATE_REPORTS: tuple[LateReport, ...] = (
    LateReport(
        kind=AlertKind.SAE_LATE,
        model=AdverseEvent,
        link="adverse_event",
        due_field="sae_report_due_at",
        pending=Q(serious=True, sae_reported_at__isnull=True),
        message=lambda event: Text(
            gettext_noop(
                "SAE '%(term)s' was not reported to the sponsor within 24 hours (due %(due)s)."
            ),
            term=event.verbatim_term,
            due=_due(event, "sae_report_due_at"),
        ),
    ),
    LateReport(
        kind=AlertKind.SUSAR_LATE,
        model=AdverseEvent,
        link="adverse_event",
        due_field="susar_due_at",
        pending=Q(susar=True, susar_reported_at__isnull=True),
        message=lambda event: Text(
            gettext_noop("SUSAR '%(term)s' expedited report is overdue (due %(due)s)."),
            term=event.verbatim_term,
            due=_due(event, "susar_due_at"),
        ),
    ),
    LateReport(
        kind=AlertKind.SUSAR_FOLLOWUP_LATE,
        model=AdverseEvent,
        link="adverse_event",
        due_field="susar_followup_due_at",
        pending=Q(susar=True, susar_followup_reported_at__isnull=True),
        message=lambda event: Text(
            gettext_noop(
                "SUSAR '%(term)s' follow-up report is overdue (due %(due)s, 8 days after the "
                "initial report)."
            ),
            term=event.verbatim_term,
            due=_due(event, "susar_followup_due_at"),
        ),
    ),
    LateReport(
        kind=AlertKind.PREGNANCY_LATE,
        model=PregnancyReport,
        link="pregnancy_report",
        due_field="report_due_at",
        pending=Q(sponsor_reported_at__isnull=True),
        message=lambda report: Text(
            gettext_noop(
                "The pregnancy was not reported to the sponsor within 24 hours (due %(due)s)."
            ),
            due=_due(report, "report_due_at"),
        ),
    ),
    LateReport(
        kind=AlertKind.PREGNANCY_OUTCOME,
        model=PregnancyReport,
        link="pregnancy_report",
        due_field="outcome_due_at",
        pending=Q(outcome__in=("", PregnancyOutcome.ONGOING)),
        message=lambda report: Text(
            gettext_noop(
                "The pregnancy's estimated due date (%(due)s) has passed and no outcome is "
                "recorded: follow it up and record the outcome."
            ),
            due=f"{report.estimated_due_date:%Y-%m-%d}",
        ),
    ),
)


def _late(report: LateReport, now: datetime) -> Any:
    raised = Alert.objects.filter(kind=report.kind).values(f"{report.link}_id")
    return (
        report.model._default_manager.filter(report.pending, **{f"{report.due_field}__lte": now})
        .exclude(pk__in=raised)
        .order_by(report.due_field, "pk")
        .select_related("participant", "participant__site")
    )


def late_reports_flag_step(*, now: datetime, limit: int = 500, actor: Any = None) -> int:
    """One batch of overdue reports turned into alerts; 0 when none is due."""
    actor = actor or system_actor()
    for report in LATE_REPORTS:
        with transaction.atomic():
            events = list(
                _late(report, now).select_for_update(skip_locked=True, of=("self",))[:limit]
            )
            if not events:
                continue
            alerts_raise(
                [
                    AlertSpec(
                        kind=report.kind,
                        source_key=f"{report.kind}:{event.pk}",
                        participant=event.participant,
                        occurred_at=getattr(event, report.due_field) or now,
                        message=report.message(event),
                        **{f"{report.link}_id": event.pk},
                    )
                    for event in events
                ],
                actor=actor,
                now=now,
            )
            return len(events)
    return 0


def late_reports_flag_all(*, now: datetime, limit: int = 500) -> int:
    actor = system_actor()
    total = 0
    while count := late_reports_flag_step(now=now, limit=limit, actor=actor):
        total += count
    while alerts_email_pending(now=now):
        pass
    heartbeat_record(name=JOB_NAME, now=now)
    return total

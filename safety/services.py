"""Writes for adverse events beyond the form: recording that a report reached its addressee."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext, gettext_noop

from assessments.models import EntryStatus
from assessments.services import form_save
from ecrf.audit import audited_save
from ecrf.errors import InvalidTransitionError
from ecrf.site_time import site_clock_text
from safety.models import AdverseEvent
from safety.rules import ADVERSE_EVENTS, dose_limiting
from trials.definitions import definition_of
from trials.models import Participant


def _mark(
    *,
    actor: Any,
    ae: AdverseEvent,
    field: str,
    report: str,
    at: datetime,
    reason: str,
    now: datetime,
) -> AdverseEvent:
    """Record the time `field` once; a second time is a correction, made on the form."""
    recorded = getattr(ae, field)
    if recorded is not None:
        shown = site_clock_text(recorded, ae.participant.site.time_zone)
        raise InvalidTransitionError(
            gettext(
                "The %(report)s was recorded as made at %(time)s; correct it on the form, with "
                "a reason."
            )
            % {"report": gettext(report), "time": shown}
        )
    # The version the caller read guards against recording over someone else's follow-up.
    saved: AdverseEvent = form_save(
        actor=actor,
        ftype=ADVERSE_EVENTS,
        participant=ae.participant,
        record_id=ae.pk,
        expected_version=ae.row_version,
        data={field: at},
        reason=reason,
        now=now,
    )
    return saved


def sae_mark_reported(
    *, actor: Any, ae: AdverseEvent, reported_at: datetime, now: datetime
) -> AdverseEvent:
    """Site staff record when their SAE report reached the sponsor."""
    if not ae.serious:
        raise InvalidTransitionError(gettext("Only a serious adverse event is reported as an SAE."))
    return _mark(
        actor=actor,
        ae=ae,
        field="sae_reported_at",
        report=gettext_noop("SAE report"),
        at=reported_at,
        reason="SAE report sent to the sponsor",
        now=now,
    )


def susar_mark_reported(
    *, actor: Any, ae: AdverseEvent, reported_at: datetime, now: datetime
) -> AdverseEvent:
    """The medical monitor records when the expedited SUSAR report was submitted."""
    if not ae.susar:
        raise InvalidTransitionError(
            gettext("The event is not a SUSAR; there is no expedited report.")
        )
    return _mark(
        actor=actor,
        ae=ae,
        field="susar_reported_at",
        report=gettext_noop("SUSAR report"),
        at=reported_at,
        reason="SUSAR expedited report submitted",
        now=now,
    )


def susar_followup_mark_reported(
    *, actor: Any, ae: AdverseEvent, reported_at: datetime, now: datetime
) -> AdverseEvent:
    """The medical monitor records when the follow-up report of a fatal or life-threatening
    SUSAR was submitted (due 8 days after its initial report)."""
    if ae.susar_followup_due_at is None:
        raise InvalidTransitionError(
            gettext(
                "There is no follow-up report due: it follows the initial expedited report of a "
                "fatal or life-threatening SUSAR."
            )
        )
    return _mark(
        actor=actor,
        ae=ae,
        field="susar_followup_reported_at",
        report=gettext_noop("SUSAR follow-up report"),
        at=reported_at,
        reason="SUSAR follow-up report submitted",
        now=now,
    )


def dose_limiting_recompute(
    *, participant: Participant, actor: Any, now: datetime
) -> list[AdverseEvent]:
    """After an infusion of the participant is saved: the DLT flag of each of their adverse
    events follows the infusion days it is read against, so an event entered before its
    infusion is flagged once the infusion is. Saves, with a reason and a new version, the
    events whose flag changed; running it twice changes nothing the second time."""
    definition = definition_of(participant.protocol_version)
    changed = []
    events = (
        AdverseEvent.objects.select_for_update()
        .filter(participant=participant, entry_status=EntryStatus.ENTERED)
        .order_by("pk")
    )
    for ae in events:
        flag = dose_limiting(ae, participant, definition)
        if flag == ae.dose_limiting:
            continue
        ae.dose_limiting = flag
        ae.row_version += 1
        ae.updated_at = now
        reason = "Recomputed: infusion changed (dose-limiting toxicity window)"
        changed.append(audited_save(ae, actor=actor, reason=reason, require_reason=True))
    return changed

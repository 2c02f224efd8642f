"""The e-mail that tells a trial's safety staff at once that an adverse event became serious."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from ecrf.access import Role
from ecrf.site_time import site_clock_text
from safety.models import SERIOUSNESS_FIELDS, AdverseEvent
from trials.models import Membership

logger = logging.getLogger(__name__)
# Who acts on a new SAE for the sponsor: the medical monitor / safety role.
SAFETY_ROLES = frozenset({Role.MEDICAL_MONITOR})


def safety_staff_emails(trial_id: int) -> list[str]:
    return sorted(
        set(
            Membership.objects.active()
            .filter(trial_id=trial_id, role__in=SAFETY_ROLES)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def sae_escalation_message(ae: AdverseEvent) -> tuple[str, str]:
    """Subject and body: who, what, which criteria, and the clock on the site's time. Nothing
    about the allocation."""
    participant = ae.participant
    zone = participant.site.time_zone
    criteria = ", ".join(
        str(getattr(AdverseEvent._meta.get_field(name), "verbose_name", name))
        for name in SERIOUSNESS_FIELDS
        if getattr(ae, name)
    )
    aware = site_clock_text(ae.site_awareness_at, zone) if ae.site_awareness_at else "not given"
    due = site_clock_text(ae.sae_report_due_at, zone) if ae.sae_report_due_at else "not set"
    subject = f"[{participant.trial.code}] Serious adverse event: {participant.identifier}"
    body = "\n".join(
        (
            f"Participant: {participant.identifier} (site {participant.site.code})",
            f"Event: {ae.verbatim_term}",
            f"Seriousness criteria: {criteria}",
            f"Site aware at: {aware}",
            f"SAE report due to the sponsor at: {due}",
        )
    )
    return subject, body + "\n"


def sae_escalation_notify(
    ae: AdverseEvent, *, before: dict[str, Any], actor: Any, now: datetime
) -> None:
    """After a save that made the event serious (entered serious, or escalated), e-mail the
    trial's safety staff once the save commits. Later saves of a serious event send nothing."""
    if not ae.serious or before.get("serious"):
        return
    recipients = safety_staff_emails(ae.participant.trial_id)
    if not recipients:
        return
    subject, body = sae_escalation_message(ae)

    def send() -> None:
        try:
            send_mail(
                subject=subject,
                message=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        except Exception:
            logger.exception("SAE e-mail to %s failed", ", ".join(recipients))

    transaction.on_commit(send)

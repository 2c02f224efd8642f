"""Emergency unblinding: an investigator learns one participant's arm, with a reason, and the
sponsor is told at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_noop

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError
from ecrf.site_time import site_clock_text
from trials.access import require_role
from trials.blinding import ArmAccess
from trials.definitions import definition_of
from trials.models import (
    AllocationSlot,
    ArmGround,
    Membership,
    Participant,
    ReadChannel,
    UnblindingEvent,
)
from trials.services.blinding import arm_read_record
from trials.services.participants import lock_participant


@dataclass(frozen=True)
class Unblinding:
    event: UnblindingEvent
    arm_code: str
    arm_name: str


def participant_unblind(
    *,
    actor: Any,
    participant: Participant,
    reason: str,
    password: str,
    now: datetime,
    request: HttpRequest | None = None,
    channel: str = ReadChannel.API,
    path: str = "",
) -> Unblinding:
    """Emergency unblinding of one participant by an investigator of its site, who enters
    their password again and the medical reason. The event, the participant's unblinded mark
    and the read of the arm are recorded together; the sponsor is notified after commit.

    A wrong password is refused (and counts towards the account lockout, as for
    e-signatures) before anything is recorded.
    """
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles={Role.INVESTIGATOR},
        action=gettext_noop("request emergency unblinding"),
    )
    if not reason.strip():
        raise DomainError(
            "Give the medical reason for unblinding.", fields={"reason": ["Required."]}
        )
    if not password or (
        authenticate(request or HttpRequest(), username=actor.get_username(), password=password)
        is None
    ):
        raise DomainError(
            "The password is not correct; nothing was unblinded.",
            fields={"password": ["Incorrect."]},
        )
    with transaction.atomic():
        locked = lock_participant(participant)
        slot = AllocationSlot.objects.filter(participant=locked).first()
        if slot is None:
            raise DomainError(
                f"{locked.identifier} has not been randomized; there is nothing to unblind."
            )
        event = audited_save(
            UnblindingEvent(
                participant=locked, requested_by=actor, reason=reason.strip(), created_at=now
            ),
            actor=actor,
        )
        if locked.unblinded_at is None:
            locked.unblinded_at = now
            audited_save(
                locked, actor=actor, reason="Emergency unblinding", update_fields=["unblinded_at"]
            )
        arm = definition_of(locked.protocol_version).arm(slot.arm_code)
        arm_read_record(
            user=actor,
            participant=locked,
            access=ArmAccess(ArmGround.EMERGENCY),
            channel=channel,
            path=path,
            now=now,
        )
        transaction.on_commit(lambda: _notify_unblinding(event.pk))
        return Unblinding(event=event, arm_code=arm.code, arm_name=arm.name)


def _notify_unblinding(event_id: int) -> None:
    event = UnblindingEvent.objects.select_related(
        "participant__trial", "participant__site", "requested_by"
    ).get(pk=event_id)
    participant = event.participant
    recipients = sorted(
        set(
            Membership.objects.active()
            .filter(trial=participant.trial, role__in=[Role.MEDICAL_MONITOR, Role.TRIAL_ADMIN])
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not recipients:
        return
    # The arm is never written in the message: mailboxes are not blinded-role aware.
    send_mail(
        subject=f"[{participant.trial.code}] Emergency unblinding of {participant.identifier}",
        message=(
            f"Participant {participant.identifier} at site {participant.site.code} was unblinded "
            f"by {event.requested_by.display_name()} at "
            f"{site_clock_text(event.created_at, participant.site.time_zone)}.\n"
            f"Reason: {event.reason}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )

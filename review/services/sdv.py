"""Source data verification: the protocol's plan and the monitor's mark on a form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError
from review.models import SourceVerification
from review.services.records import _record_ref
from trials.access import require_role
from trials.definitions import definition_of
from trials.models import Participant

SDV_ROLES = frozenset({Role.MONITOR})


def sdv_plan(participant: Participant) -> set[str] | None:
    """The forms the protocol wants verified; None means every form (100% SDV)."""
    parameter = definition_of(participant.protocol_version).parameters.get("sdv_forms")
    if parameter is None or str(parameter.value).strip().lower() in ("", "all"):
        return None
    return {code.strip() for code in str(parameter.value).split(",") if code.strip()}


def sdv_verify(*, actor: Any, form_code: str, record: Any, now: datetime) -> SourceVerification:
    participant = record.participant
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SDV_ROLES,
        action="verify source data",
    )
    plan = sdv_plan(participant)
    if plan is not None and form_code not in plan:
        raise DomainError(f"The protocol's SDV plan does not include {form_code}.")
    if record.entry_status != "entered":
        raise InvalidTransitionError("Only entered data are verified.")
    with transaction.atomic():
        current = SourceVerification.objects.filter(
            voided_at__isnull=True, **_record_ref(record)
        ).first()
        if current is not None and current.row_version == record.row_version:
            return current
        return audited_save(
            SourceVerification(
                participant=participant,
                form_code=form_code,
                verified_by=actor,
                verified_at=now,
                row_version=record.row_version,
                **_record_ref(record),
            ),
            actor=actor,
        )

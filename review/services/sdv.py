"""Source data verification: the protocol's plan and the monitor's mark on a form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError
from review.models import DataQuery, QueryStatus, SourceVerification
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


def sdv_verify(
    *,
    actor: Any,
    form_code: str,
    record: Any,
    now: datetime,
    override: bool = False,
    reason: str = "",
) -> SourceVerification:
    """Mark `record` verified at its current version. While a query on the form (or one of its
    fields) is unresolved, only with `override` and a `reason`, both kept with the mark and
    its history."""
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
        unresolved = (
            DataQuery.objects.filter(**_record_ref(record))
            .exclude(status=QueryStatus.CLOSED)
            .count()
        )
        reason = reason.strip() if unresolved else ""
        if unresolved and not override:
            raise DomainError(
                ngettext(
                    "This form has %(count)d unresolved query. Resolve it first, or verify "
                    "with an override and a reason.",
                    "This form has %(count)d unresolved queries. Resolve them first, or verify "
                    "with an override and a reason.",
                    unresolved,
                )
                % {"count": unresolved},
                fields={"override": [_("Required while a query is unresolved.")]},
            )
        if unresolved and not reason:
            raise DomainError(
                _("Give the reason for verifying while a query is unresolved."),
                fields={"reason": [_("Required.")]},
            )
        return audited_save(
            SourceVerification(
                participant=participant,
                form_code=form_code,
                verified_by=actor,
                verified_at=now,
                row_version=record.row_version,
                open_queries=unresolved,
                override_reason=reason,
                **_record_ref(record),
            ),
            actor=actor,
            # Stored as written, like every reason in the history.
            reason=f"Verified with {unresolved} unresolved queries (override): {reason}"
            if unresolved
            else "",
        )

"""Source data verification: the protocol's plan and the monitor's mark on a form."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError
from review.models import DataQuery, QueryStatus, SourceVerification
from review.services.records import _record_ref
from trials.access import require_role
from trials.definitions import definition_of
from trials.models import Participant, ProtocolVersion

SDV_ROLES = frozenset({Role.MONITOR})


def sdv_plan(participant: Participant) -> set[str] | None:
    """The forms the protocol wants verified; None means every form (100% SDV)."""
    parameter = definition_of(participant.protocol_version).parameters.get("sdv_forms")
    if parameter is None or str(parameter.value).strip().lower() in ("", "all"):
        return None
    return {code.strip() for code in str(parameter.value).split(",") if code.strip()}


@dataclass(frozen=True)
class SdvRequirement:
    """What the protocol's SDV plan asks of one form record: its `critical` fields, and every
    field when `full`."""

    critical: frozenset[str]
    full: bool

    @property
    def needed(self) -> bool:
        return self.full or bool(self.critical)

    def required(self, form_fields: Sequence[str]) -> frozenset[str]:
        return self.critical | frozenset(form_fields) if self.full else self.critical


def sdv_selected(trial_code: str, subject_id: str, form_code: str, percent: int) -> bool:
    """Whether a sampled form of this participant is drawn for full verification: the same
    answer every time, from a hash of the trial, the participant and the form."""
    digest = hashlib.sha256(f"{trial_code}:{subject_id}:{form_code}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def sdv_scope(version: ProtocolVersion, form_code: str) -> tuple[str, int]:
    """How a protocol version verifies a form across participants: ("all", 100) when every
    record needs verifying (its critical fields at least), ("sampled", percent) or ("none", 0)."""
    definition = definition_of(version)
    if definition.sdv_plan is None:
        legacy = sdv_plan(Participant(protocol_version=version))
        return ("all", 100) if legacy is None or form_code in legacy else ("none", 0)
    entry = definition.sdv_plan.get(form_code)
    if entry is None or (entry.level == "none" and not entry.critical):
        return ("none", 0)
    if entry.level == "sampled" and not entry.critical:
        return ("sampled", entry.percent)
    return ("all", 100)


def sdv_requirement(participant: Participant, form_code: str) -> SdvRequirement:
    """What the plan asks of this participant's `form_code` records."""
    definition = definition_of(participant.protocol_version)
    if definition.sdv_plan is None:
        legacy = sdv_plan(participant)
        return SdvRequirement(frozenset(), legacy is None or form_code in legacy)
    entry = definition.sdv_plan.get(form_code)
    if entry is None:
        return SdvRequirement(frozenset(), False)
    full = entry.level == "all" or (
        entry.level == "sampled"
        and sdv_selected(
            participant.trial.code,
            participant.subject_id or f"#{participant.pk}",
            form_code,
            entry.percent,
        )
    )
    return SdvRequirement(frozenset(entry.critical), full)


def sdv_verify(
    *,
    actor: Any,
    form_code: str,
    record: Any,
    now: datetime,
    form_fields: Sequence[str] = (),
    fields: Sequence[str] | None = None,
    override: bool = False,
    reason: str = "",
) -> SourceVerification:
    """Mark `fields` of `record` verified at its current version, or (without `fields`) every
    field the protocol's SDV plan requires; `form_fields` are the form's fields. The mark is
    complete once every required field is verified. While a query on the form (or one of its
    fields) is unresolved, only with `override` and a `reason`, both kept with the mark and
    its history."""
    participant = record.participant
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SDV_ROLES,
        action=gettext_noop("verify source data"),
    )
    requirement = sdv_requirement(participant, form_code)
    if not requirement.needed:
        raise DomainError(f"The protocol's SDV plan does not include {form_code}.")
    if record.entry_status != "entered":
        raise InvalidTransitionError("Only entered data are verified.")
    required = requirement.required(form_fields)
    chosen = set(required) if fields is None else {name.strip() for name in fields if name.strip()}
    unknown = sorted(chosen - set(form_fields) - required) if form_fields else []
    if unknown or (fields is not None and not chosen):
        raise DomainError(
            _("Choose fields of this form to verify.")
            if not unknown
            else _("This form has no field %(names)s.") % {"names": ", ".join(unknown)},
            fields={"fields": [_("Choose fields of this form.")]},
        )
    with transaction.atomic():
        current = (
            SourceVerification.objects.select_for_update()
            .filter(voided_at__isnull=True, row_version=record.row_version, **_record_ref(record))
            .order_by("-verified_at", "-pk")
            .first()
        )
        done = set(current.verified_fields) if current is not None else set()
        if current is not None and current.complete and (fields is None or chosen <= done):
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
        verified = sorted(done | chosen)
        complete = fields is None or required <= set(verified)
        note = (
            f"Verified with {unresolved} unresolved queries (override): {reason}"
            if unresolved
            else ""
        )
        if current is not None:
            current.verified_fields = verified
            current.complete = complete
            current.verified_by = actor
            current.verified_at = now
            current.open_queries = max(current.open_queries, unresolved)
            current.override_reason = reason or current.override_reason
            # Stored as written, like every reason in the history.
            return audited_save(
                current,
                actor=actor,
                reason=note or f"Fields verified: {', '.join(sorted(chosen))}",
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
                verified_fields=verified,
                complete=complete,
                **_record_ref(record),
            ),
            actor=actor,
            reason=note,
        )

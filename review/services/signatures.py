"""E-signatures: the investigator signs a form, a visit or a casebook with their password."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError
from review.models import SIGNATURE_MEANING, Signature, SignatureScope
from review.services.readiness import require_ready
from review.services.records import _record_ref
from trials.access import require_role
from trials.models import Participant


def signature_sign(
    *,
    actor: Any,
    request: HttpRequest | None,
    password: str,
    participant: Participant,
    scope: str,
    form_code: str = "",
    record: Any = None,
    visit: Any = None,
    now: datetime,
) -> Signature:
    """The investigator signs after entering their password again; a wrong password is
    refused and counts towards the account lockout."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles={Role.INVESTIGATOR},
        action="sign",
    )
    if scope not in SignatureScope.values:
        raise DomainError(
            "Sign a form, a visit or a casebook.", fields={"scope": ["Unknown scope."]}
        )
    # The lockout counts failures per request; a signature made outside a web request (a
    # job, a shell) still has its wrong passwords counted, against the same account.
    if authenticate(request or HttpRequest(), username=actor.username, password=password) is None:
        raise DomainError(
            "The password is not correct; nothing was signed.", fields={"password": ["Incorrect."]}
        )
    ref: dict[str, Any] = {}
    if scope == SignatureScope.FORM:
        if record is None or record.participant_id != participant.pk:
            raise DomainError("Name the form to sign.")
        ref = {"form_code": form_code, **_record_ref(record)}
    elif scope == SignatureScope.VISIT:
        if visit is None or visit.participant_id != participant.pk:
            raise DomainError("Name the visit to sign.")
        ref = {"visit": visit}
    require_ready(
        action="signed",
        participant=participant,
        record=record if scope == SignatureScope.FORM else None,
        visit=visit if scope == SignatureScope.VISIT else None,
    )
    with transaction.atomic():
        return audited_save(
            Signature(
                participant=participant,
                scope=scope,
                signer=actor,
                printed_name=actor.display_name(),
                meaning=SIGNATURE_MEANING,
                signed_at=now,
                **ref,
            ),
            actor=actor,
        )

"""E-signatures: the investigator signs a form, a visit or a casebook with their password."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ecrf.access import Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError
from review.models import SIGNATURE_MEANING, Signature, SignatureScope
from review.services.readiness import SHOWN, require_ready
from review.services.records import _record_ref
from trials.access import require_role
from trials.models import Participant


class OutstandingError(DomainError):
    code = "outstanding"


def _more(count: int) -> list[str]:
    return [_("And %(count)d more.") % {"count": count - SHOWN}] if count > SHOWN else []


def _require_password(actor: Any, request: HttpRequest | None, password: str) -> None:
    # The lockout counts failures per request; a signature made outside a web request (a
    # job, a shell) still has its wrong passwords counted, against the same account.
    if authenticate(request or HttpRequest(), username=actor.username, password=password) is None:
        raise DomainError(
            "The password is not correct; nothing was signed.", fields={"password": ["Incorrect."]}
        )


def _require_acknowledged(outstanding: list[str], acknowledged: bool) -> None:
    if outstanding and not acknowledged:
        raise OutstandingError(
            _("Confirm that you sign with these outstanding; nothing was signed.")
            + " "
            + " ".join(outstanding[:SHOWN] + _more(len(outstanding))),
            fields={"acknowledged": [_("Confirm to sign with these outstanding.")]},
        )


def _signature_save(
    actor: Any, participant: Participant, scope: str, now: datetime, **ref: Any
) -> Signature:
    """One signature with its manifestation: the signer's printed name, the instant, the
    meaning."""
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


def signature_outstanding(
    *, participant: Participant, form_code: str = "", record: Any = None, visit: Any = None
) -> list[str]:
    """Sentences naming the forms missing, open queries and forms not source-verified that a
    signature of `record`, else `visit`, else the casebook would cover. The forms live above
    review, so they are read through the REVIEW_OUTSTANDING_CHECK setting."""
    check = import_string(settings.REVIEW_OUTSTANDING_CHECK)
    found: list[str] = check(
        participant=participant, form_code=form_code, record=record, visit=visit
    )
    return found


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
    acknowledged: bool = False,
    now: datetime,
) -> Signature:
    """The investigator signs after entering their password again; a wrong password is
    refused and counts towards the account lockout. Over forms missing, open queries or forms
    not source-verified, the investigator signs only with `acknowledged`, having seen them."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles={Role.INVESTIGATOR},
        action=gettext_noop("sign"),
    )
    if scope not in SignatureScope.values:
        raise DomainError(
            "Sign a form, a visit or a casebook.", fields={"scope": ["Unknown scope."]}
        )
    _require_password(actor, request, password)
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
    outstanding = signature_outstanding(
        participant=participant,
        form_code=form_code,
        record=record if scope == SignatureScope.FORM else None,
        visit=visit if scope == SignatureScope.VISIT else None,
    )
    _require_acknowledged(outstanding, acknowledged)
    with transaction.atomic():
        return _signature_save(actor, participant, scope, now, **ref)


def signature_sign_visits(
    *,
    actor: Any,
    request: HttpRequest | None,
    password: str,
    visits: list[Any],
    acknowledged: bool = False,
    now: datetime,
) -> list[Signature]:
    """The investigator signs several visits with one password entry: one Signature per visit,
    each with its own printed name, instant and meaning. All are signed, or none: another
    site's visit, a wrong password, a visit not ready, or an outstanding item not acknowledged
    refuses the whole batch."""
    if not visits:
        raise DomainError(_("Choose the visits to sign."), fields={"visits": [_("Choose.")]})
    for visit in visits:
        require_role(
            actor,
            trial=visit.participant.trial,
            site=visit.participant.site,
            roles={Role.INVESTIGATOR},
            action=gettext_noop("sign"),
        )
    _require_password(actor, request, password)
    outstanding = []
    for visit in visits:
        require_ready(action="signed", participant=visit.participant, visit=visit)
        outstanding += [
            f"{visit.participant.identifier}, {visit.code}: {sentence}"
            for sentence in signature_outstanding(participant=visit.participant, visit=visit)
        ]
    _require_acknowledged(outstanding, acknowledged)
    with transaction.atomic():
        return [
            _signature_save(actor, visit.participant, SignatureScope.VISIT, now, visit=visit)
            for visit in visits
        ]

"""Writes for alerts: raise once per finding, e-mail each alert once, acknowledge, resolve."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from simple_history.utils import bulk_create_with_history

from alerts.models import Alert, AlertKind, AlertStatus
from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.audit import audited_save
from ecrf.bulk import Among, Stamp, insert_from
from ecrf.errors import InvalidTransitionError
from ecrf.messages import ProtocolLookup, Text, shown, stored_fields
from trials.access import require_role
from trials.models import Membership, Participant, Site

logger = logging.getLogger(__name__)
SPONSOR_KINDS = frozenset({AlertKind.SUSAR_LATE, AlertKind.SUSAR_FOLLOWUP_LATE})
RAISED = "Raised by job"


class Raised(NamedTuple):
    """What an alert's e-mail needs of it."""

    id: int
    trial_id: int
    site_id: int
    participant_id: int
    kind: str
    message: str
    message_template: str
    message_params: Any


@dataclass(frozen=True)
class AlertSpec:
    kind: str
    source_key: str
    participant: Participant
    occurred_at: datetime
    # A `Text` is kept in English and as a template each reader reads in their language.
    message: str | Text
    visit_id: int | None = None
    adverse_event_id: int | None = None
    pregnancy_report_id: int | None = None


def alerts_raise(specs: list[AlertSpec], *, actor: Any, now: datetime) -> list[Alert]:
    """Create the alerts not raised before, with history, and e-mail them after commit; a
    finding raised twice stays one alert."""
    if not specs:
        return []
    existing = set(
        Alert.objects.filter(source_key__in=[s.source_key for s in specs])
        .order_by()
        .values_list("source_key", flat=True)
    )
    new = [
        Alert(
            trial_id=spec.participant.trial_id,
            site_id=spec.participant.site_id,
            participant=spec.participant,
            visit_id=spec.visit_id,
            adverse_event_id=spec.adverse_event_id,
            pregnancy_report_id=spec.pregnancy_report_id,
            kind=spec.kind,
            source_key=spec.source_key,
            occurred_at=spec.occurred_at,
            created_at=now,
            emailed_at=now,
            **_worded(spec.message),
        )
        for spec in specs
        if spec.source_key not in existing
    ]
    created = bulk_create_with_history(
        new, Alert, default_user=actor, default_change_reason=RAISED, default_date=now
    )
    _email_after_commit(
        [Raised(*(getattr(alert, name) for name in Raised._fields)) for alert in created]
    )
    return created


def _worded(message: str | Text) -> dict[str, Any]:
    return stored_fields("message", message)


def alerts_raise_from(
    source: QuerySet[Any], values: Mapping[str, Any], *, actor: Any, now: datetime
) -> list[int]:
    """`alerts_raise` for many findings at once: one alert per row of `source`, its fields set
    to `values` (expressions over `source`'s model: kind, source_key, trial_id, site_id,
    participant_id, occurred_at, message, its message_template and message_params, and the
    visit or adverse event), written with their
    history by one statement whatever their number. A finding raised before, or by another
    worker at the same time, is skipped. The new alerts are e-mailed after commit; their ids
    are returned."""
    rows = insert_from(
        Alert,
        source,
        {**values, "created_at": now, "emailed_at": now},
        stamp=Stamp(actor=actor, reason=RAISED, now=now),
        returning=Raised._fields,
    )
    # Raw rows: a JSON column may come back as its text.
    raised = [
        Raised._make((*row[:-1], json.loads(row[-1]) if isinstance(row[-1], str) else row[-1]))
        for row in rows
    ]
    _email_after_commit(raised)
    return [alert.id for alert in raised]


def alerts_resolve(*, actor: Any, alerts: Any, resolution: str | Text, now: datetime) -> int:
    """Resolve open or acknowledged alerts because the data now answer them."""
    worded = Text(resolution) if isinstance(resolution, str) else resolution
    count = 0
    for alert in alerts.select_for_update().exclude(status=AlertStatus.RESOLVED):
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        alert.resolution = worded.english
        if isinstance(resolution, Text):
            alert.resolution_template = resolution.template
            alert.resolution_params = resolution.params
        audited_save(alert, actor=actor, reason=worded.english)
        count += 1
    return count


def alert_acknowledge(*, actor: Any, alert: Alert, now: datetime) -> Alert:
    roles: frozenset[str] = (
        SITE_STAFF_ROLES if alert.kind not in SPONSOR_KINDS else frozenset({Role.MEDICAL_MONITOR})
    )
    require_role(
        actor,
        trial=alert.trial,
        site=alert.site,
        roles=roles,
        action=gettext_noop("acknowledge alerts"),
    )
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.status == AlertStatus.RESOLVED:
            raise InvalidTransitionError("This alert is already resolved.")
        if locked.status == AlertStatus.ACKNOWLEDGED:
            return locked
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_by = actor
        locked.acknowledged_at = now
        return audited_save(locked, actor=actor, reason="Acknowledged")


@dataclass(frozen=True)
class _Message:
    recipients: tuple[str, ...]
    subject: str
    lines: tuple[str, ...]


def _messages(alerts: list[Raised]) -> list[_Message]:
    """One message per trial and site (per trial for sponsor alerts) and language listing
    `alerts`, to the people who act on them, in their language. Three queries whatever the
    number of alerts, and one more for the protocols' visit names when a recipient reads
    another language than English."""
    groups: dict[tuple[int, int | None], list[Raised]] = defaultdict(list)
    for alert in sorted(alerts):
        site = None if alert.kind in SPONSOR_KINDS else alert.site_id
        groups[alert.trial_id, site].append(alert)
    if not groups:
        return []
    people = {
        pk: (subject_id or screening_number, version_id)
        for pk, subject_id, screening_number, version_id in Participant.objects.filter(
            Among("pk", {alert.participant_id for alert in alerts})
        )
        .order_by()
        .values_list("pk", "subject_id", "screening_number", "protocol_version_id")
    }
    sites = {
        pk: (trial_code, code)
        for pk, trial_code, code in Site.objects.filter(pk__in={alert.site_id for alert in alerts})
        .order_by()
        .values_list("pk", "trial__code", "code")
    }
    recipients: dict[tuple[int, int | None], dict[str, set[str]]] = defaultdict(
        lambda: defaultdict(set)
    )
    memberships = (
        Membership.objects.active()
        .filter(trial_id__in={trial_id for trial_id, _ in groups})
        .filter(
            Q(role=Role.MEDICAL_MONITOR)
            | Q(role__in=SITE_STAFF_ROLES, site_id__in={site for _, site in groups if site})
        )
        .exclude(user__email="")
        .values_list("trial_id", "site_id", "role", "user__email", "user__language")
    )
    for trial_id, site_id, role, email, language in memberships:
        key = (trial_id, None if role == Role.MEDICAL_MONITOR else site_id)
        recipients[key][language or "en"].add(email)
    texts = _ProtocolTexts({version for _, version in people.values()})
    messages = []
    for key, group in groups.items():
        trial_code, site_code = sites[group[0].site_id]
        for language, emails in sorted(recipients[key].items()):
            with translation.override(language):
                subject = gettext("[%(trial)s] %(count)s new alert(s) for site %(site)s") % {
                    "trial": trial_code,
                    "count": len(group),
                    "site": site_code,
                }
                lines = tuple(
                    f"- {AlertKind(alert.kind).label}: {people[alert.participant_id][0]} — "
                    + shown(
                        alert.message,
                        alert.message_template,
                        alert.message_params,
                        protocol=texts.lookup(language, people[alert.participant_id][1]),
                    )
                    for alert in group
                )
            messages.append(_Message(tuple(sorted(emails)), subject, lines))
    return messages


class _ProtocolTexts:
    """The protocols' texts (a visit's name) in a recipient's language, the protocols read
    once, when first a language other than English needs them."""

    def __init__(self, version_ids: set[int]) -> None:
        self.version_ids = version_ids
        self.definitions: dict[int, Any] | None = None

    def lookup(self, language: str, version_id: int) -> ProtocolLookup | None:
        if language.startswith("en"):
            return None
        if self.definitions is None:
            from trials.definitions import definition_of
            from trials.models import ProtocolVersion

            self.definitions = {
                version.pk: definition_of(version)
                for version in ProtocolVersion.objects.filter(pk__in=self.version_ids)
            }
        definition = self.definitions.get(version_id)
        if definition is None:
            return None
        return lambda kind, code, english: definition.text(language, kind, code, english)


def _email_after_commit(alerts: list[Raised]) -> None:
    """E-mail alerts the current transaction marks as e-mailed, once it commits: at most
    once, never twice (a transaction that rolls back sends nothing)."""
    if alerts:
        messages = _messages(alerts)
        transaction.on_commit(lambda: _send(messages))


def alerts_email_pending(*, now: datetime, limit: int = 500) -> int:
    """E-mail alerts not yet e-mailed (raised before alerts were e-mailed as they were raised).

    An alert is marked e-mailed in the transaction that picks it (skipping rows another worker
    holds), and the message leaves after commit: at most once, never twice.
    """
    with transaction.atomic():
        ids = list(
            Alert.objects.select_for_update(skip_locked=True)
            .filter(emailed_at__isnull=True)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return 0
        Alert.objects.filter(pk__in=ids).update(emailed_at=now)
        _email_after_commit(
            [Raised(*row) for row in Alert.objects.filter(pk__in=ids).values_list(*Raised._fields)]
        )
    return len(ids)


def _send(messages: list[_Message]) -> None:
    for message in messages:
        try:
            send_mail(
                subject=message.subject,
                message="\n".join(message.lines) + "\n",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=list(message.recipients),
            )
        except Exception:
            # Marked as e-mailed already: losing a message is logged, never sent twice.
            logger.exception("Alert e-mail to %s failed", ", ".join(message.recipients))

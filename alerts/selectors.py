"""Reads for alerts: the alerts a user may see, one alert, and the open count for the nav."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import translation

from alerts.models import Alert, AlertStatus
from alerts.services import SPONSOR_KINDS
from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.errors import NotFoundError
from trials.access import active_memberships
from trials.models import Site, Trial

# Site staff and monitors read their sites' alerts; data management and safety read all sites.
ALERT_READER_ROLES = frozenset(
    {*SITE_STAFF_ROLES, Role.MONITOR, Role.DATA_MANAGER, Role.MEDICAL_MONITOR}
)
# Late SUSAR reports are the sponsor's business, not the site's.
SPONSOR_ALERT_READER_ROLES = frozenset({Role.DATA_MANAGER, Role.MEDICAL_MONITOR})


def _conditions(user: Any) -> tuple[Q, Q]:
    """Which alerts `user` may read, and which of those they may acknowledge.

    One query (the user's memberships), whatever the number of memberships. The acknowledge
    rule mirrors `alert_acknowledge`: site staff for site alerts, the medical monitor for
    SUSAR alerts; the service checks it again on every write.
    """
    read = Q(pk__in=[])
    acknowledge = Q(pk__in=[])
    memberships = active_memberships(user).filter(role__in=ALERT_READER_ROLES)
    for trial_id, site_id, role in memberships.values_list("trial_id", "site_id", "role"):
        where = Q(trial_id=trial_id) if site_id is None else Q(trial_id=trial_id, site_id=site_id)
        if role in SPONSOR_ALERT_READER_ROLES:
            read |= where
        else:
            read |= where & ~Q(kind__in=SPONSOR_KINDS)
        if role in SITE_STAFF_ROLES:
            acknowledge |= where & ~Q(kind__in=SPONSOR_KINDS)
        elif role == Role.MEDICAL_MONITOR:
            acknowledge |= where & Q(kind__in=SPONSOR_KINDS)
    return read, acknowledge


def _alerts(user: Any) -> QuerySet[Alert]:
    read, acknowledge = _conditions(user)
    alerts = Alert.objects.all()
    if not (translation.get_language() or "en").startswith("en"):
        # A visit's name is read from its protocol's texts in the reader's language: one more
        # query for all the alerts, the protocol versions they belong to.
        alerts = alerts.prefetch_related("participant__protocol_version")
    return (
        alerts.filter(read)
        .select_related("trial", "site", "participant", "visit", "adverse_event", "acknowledged_by")
        .annotate(
            # Open and of a kind the user's role at that site acknowledges.
            can_acknowledge=Case(
                When(acknowledge & Q(status=AlertStatus.OPEN), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )


def alert_list(
    user: Any,
    *,
    trial: Trial | str | None = None,
    site: Site | str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> QuerySet[Alert]:
    """The alerts `user` may read, newest deadline first; `trial` and `site` by object or code.

    Two queries for any number of rows: the user's memberships, then the alerts joined with
    trial, site, participant, visit, adverse event and the acknowledging user.
    """
    alerts = _alerts(user)
    if isinstance(trial, Trial):
        alerts = alerts.filter(trial=trial)
    elif trial:
        alerts = alerts.filter(trial__code=trial)
    if isinstance(site, Site):
        alerts = alerts.filter(site=site)
    elif site:
        alerts = alerts.filter(site__code=site)
    if status:
        alerts = alerts.filter(status=status)
    if kind:
        alerts = alerts.filter(kind=kind)
    return alerts.order_by("-occurred_at", "pk")


def alert_get(user: Any, pk: Any) -> Alert:
    """One alert the user may read; another site's alert is not found, not refused."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError("No such alert.") from None
    alert = _alerts(user).filter(pk=key).first()
    if alert is None:
        raise NotFoundError("No such alert, or it is not for your sites.")
    return alert


def open_alert_count(
    user: Any, *, trial: Trial | str | None = None, site: Site | str | None = None
) -> int:
    """How many open alerts `user` may read (in `trial`/`site` when given): the nav badge."""
    return alert_list(user, trial=trial, site=site, status=AlertStatus.OPEN).count()

"""The monitor's review queue: forms to verify, queries by age, unsigned visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.utils import timezone

from casebook.catalogue import form_types
from casebook.review_selectors.scope import (
    REVIEW_ROLES,
    _participant_filter,
    _site_filter,
    age_days,
)
from ecrf.errors import PermissionDeniedError
from review.models import (
    DataQuery,
    QueryStatus,
    Signature,
    SignatureScope,
    SourceVerification,
)
from review.services.sdv import sdv_plan
from trials.access import membership_scope, scope_condition
from trials.models import Participant, ProtocolVersion, Site, Trial
from visits.models import Visit, VisitStatus

# The review queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FormToVerify:
    form_code: str
    form_label: str
    record_id: int
    participant_id: int
    participant: str
    site: str
    time_zone: str
    visit: str
    row_version: int
    updated_at: datetime


@dataclass(frozen=True)
class QueuedQuery:
    query: DataQuery
    age_days: int
    form_label: str


# Ages of open queries the dashboard counts separately, in days: (label, lowest, highest).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-30", 8, 30),
    (">30", 31, None),
)


@dataclass(frozen=True)
class ReviewQueue:
    trial: Trial
    to_verify: list[FormToVerify]
    open_queries: list[QueuedQuery]
    answered_queries: list[QueuedQuery]
    unsigned_visits: list[Visit]
    overdue_visits: list[Visit]
    missed_visits: list[Visit]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "to_verify": len(self.to_verify),
            "open_queries": len(self.open_queries),
            "answered_queries": len(self.answered_queries),
            "unsigned_visits": len(self.unsigned_visits),
            "overdue_visits": len(self.overdue_visits),
            "missed_visits": len(self.missed_visits),
        }

    @property
    def open_by_age(self) -> dict[str, int]:
        bands = {label: 0 for label, _, _ in AGE_BANDS}
        for row in self.open_queries:
            for label, low, high in AGE_BANDS:
                if row.age_days >= low and (high is None or row.age_days <= high):
                    bands[label] += 1
                    break
        return bands


def _plans(trial: Trial) -> dict[int, set[str] | None]:
    """The SDV plan of each protocol version of the trial (None: every form)."""
    return {
        version.pk: sdv_plan(Participant(protocol_version=version))
        for version in ProtocolVersion.objects.filter(trial=trial)
    }


def _unverified_forms(where: Q, plans: dict[int, set[str] | None]) -> list[FormToVerify]:
    """Entered forms with no current verification, of every form type, in one UNION query."""
    parts = []
    for code, ftype in form_types().items():
        versions = [pk for pk, plan in plans.items() if plan is None or code in plan]
        if not versions:
            continue
        verified = SourceVerification.objects.filter(
            form_code=code, object_id=OuterRef("pk"), voided_at__isnull=True
        )
        parts.append(
            ftype.model.objects.filter(
                where,
                ~Exists(verified),
                entry_status="entered",
                participant__protocol_version_id__in=versions,
            )
            .order_by()
            .values(
                "pk",
                "participant_id",
                "participant__subject_id",
                "participant__screening_number",
                "participant__site__code",
                "participant__site__time_zone",
                "visit__code",
                "row_version",
                "updated_at",
            )
            .annotate(form=Value(code, output_field=CharField()))
        )
    if not parts:
        return []
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    labels = {code: ftype.label for code, ftype in form_types().items()}
    found = [
        FormToVerify(
            form_code=row["form"],
            form_label=labels[row["form"]],
            record_id=row["pk"],
            participant_id=row["participant_id"],
            participant=row["participant__subject_id"] or row["participant__screening_number"],
            site=row["participant__site__code"],
            time_zone=row["participant__site__time_zone"],
            visit=row["visit__code"] or "",
            row_version=row["row_version"],
            updated_at=row["updated_at"],
        )
        for row in rows
    ]
    return sorted(found, key=lambda f: (f.updated_at, f.form_code, f.record_id))


def _queued_queries(
    scope: list[tuple[int, int | None]],
    site: Site | str | None,
    participant: Participant | int | str | None,
    now: datetime,
) -> list[QueuedQuery]:
    """Open and answered queries in the scope, oldest first, with their age and form label."""
    labels = {code: ftype.label for code, ftype in form_types().items()}
    queries = (
        DataQuery.objects.filter(
            scope_condition(scope, trial="trial_id", site="site_id"),
            _site_filter(site, "site"),
            _participant_filter(participant, "participant"),
            status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED],
        )
        .select_related("participant", "site", "opened_by")
        .order_by("opened_at", "pk")
    )
    return [QueuedQuery(q, age_days(q, now), labels.get(q.form_code, q.form_code)) for q in queries]


def _visits_to_review(by_participant: Q) -> list[Visit]:
    """Visits completed without a valid visit signature, overdue or missed."""
    signed = Signature.objects.filter(
        scope=SignatureScope.VISIT, visit_id=OuterRef("pk"), voided_at__isnull=True
    )
    return list(
        Visit.objects.filter(by_participant)
        .annotate(signed=Exists(signed))
        .filter(
            Q(status__in=[VisitStatus.OVERDUE, VisitStatus.MISSED])
            | Q(status=VisitStatus.COMPLETED, signed=False)
        )
        .select_related("participant__site")
        .order_by("participant__site__code", "participant__screening_number", "visit_number")
    )


def review_queue(
    user: Any,
    *,
    trial: Trial,
    site: Site | str | None = None,
    participant: Participant | int | str | None = None,
    now: datetime | None = None,
) -> ReviewQueue:
    """What is left to review at the sites the user reviews (all sites for data management
    and safety): forms to verify, open and answered queries, visits to sign, visits overdue
    or missed.

    Five queries whatever the number of rows: the user's memberships, the protocol versions
    (SDV plans), the unverified forms of every form type (one UNION), the open and answered
    queries, and the visits (completed without a visit signature, overdue, missed).
    """
    now = now or timezone.now()
    scope = [
        (trial_id, site_id)
        for trial_id, site_id in membership_scope(user, REVIEW_ROLES)
        if trial_id == trial.pk
    ]
    if not scope:
        raise PermissionDeniedError("Your role does not allow you to review data in this trial.")
    by_participant = (
        scope_condition(scope, trial="participant__trial_id", site="participant__site_id")
        & _site_filter(site, "participant__site")
        & _participant_filter(participant, "participant")
    )
    to_verify = _unverified_forms(by_participant, _plans(trial))
    queued = _queued_queries(scope, site, participant, now)
    visits = _visits_to_review(by_participant)
    return ReviewQueue(
        trial=trial,
        to_verify=to_verify,
        # Oldest first: the dashboard works down from the queries waiting longest.
        open_queries=[q for q in queued if q.query.status == QueryStatus.OPEN],
        answered_queries=[q for q in queued if q.query.status == QueryStatus.ANSWERED],
        unsigned_visits=[v for v in visits if v.status == VisitStatus.COMPLETED],
        overdue_visits=[v for v in visits if v.status == VisitStatus.OVERDUE],
        missed_visits=[v for v in visits if v.status == VisitStatus.MISSED],
    )

"""The monitor's review queue: forms to verify, queries by age, unsigned visits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from casebook.catalogue import form_types
from casebook.models import ReviewBacklog
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
from review.services.sdv import sdv_scope, sdv_selected
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

# The lists of the queue, in the order the page shows them.
QUEUE_SECTIONS = (
    "to_verify",
    "open_queries",
    "answered_queries",
    "unsigned_visits",
    "overdue_visits",
    "missed_visits",
)
_QUERY_SECTIONS = {"open_queries": QueryStatus.OPEN, "answered_queries": QueryStatus.ANSWERED}
_VISIT_SECTIONS = {
    "unsigned_visits": VisitStatus.COMPLETED,
    "overdue_visits": VisitStatus.OVERDUE,
    "missed_visits": VisitStatus.MISSED,
}
# The visit lists by the status their visits have (`visits_to_review`).
VISIT_COUNTS = _VISIT_SECTIONS


def _aged(low: int, high: int | None, now: datetime) -> Q:
    """Queries `low` to `high` whole days old (see age_days): counted until they closed, or
    until `now` for those still open. A query opened after `now` is 0 days old."""
    started_after = {"opened_at__gt": now - timedelta(days=high + 1)} if high is not None else {}
    started_by = {"opened_at__lte": now - timedelta(days=low)} if low else {}
    ended_after = (
        {"opened_at__gt": F("closed_at") - timedelta(days=high + 1)} if high is not None else {}
    )
    ended_by = {"opened_at__lte": F("closed_at") - timedelta(days=low)} if low else {}
    return Q(closed_at__isnull=True, **started_after, **started_by) | Q(
        closed_at__isnull=False, **ended_after, **ended_by
    )


def _open_aged(band: str, now: datetime) -> Q:
    """Open queries of the age band named (AGE_BANDS), and every other query; all queries
    when no band is named."""
    for label, low, high in AGE_BANDS:
        if label == band:
            return ~Q(status=QueryStatus.OPEN) | _aged(low, high, now)
    return Q()


class ReviewQueue:
    """The queue of one trial as the user may see it. Each list is a query not yet run, in
    the order it is worked (`section`), so that a page of it is read with LIMIT and OFFSET;
    the counts are counted by the database."""

    def __init__(
        self,
        *,
        trial: Trial,
        now: datetime,
        to_verify: UnverifiedForms | None,
        queries: QuerySet[DataQuery],
        visits: QuerySet[Visit],
        backlog: Backlog,
    ) -> None:
        self.trial = trial
        self.now = now
        self._to_verify = to_verify
        self._queries = queries
        self._visits = visits
        self._backlog = backlog

    def section(self, name: str) -> Any:
        """The rows of one list, in order, unread: forms as values (UnverifiedForms), queries,
        visits."""
        if name == "to_verify":
            if self._to_verify is None:
                return Visit.objects.none()
            return self._to_verify
        if name in _QUERY_SECTIONS:
            return self._queries.filter(status=_QUERY_SECTIONS[name])
        if name in _VISIT_SECTIONS:
            return self._visits.filter(status=_VISIT_SECTIONS[name])
        raise KeyError(name)

    def shown(self, name: str, rows: Any) -> list[Any]:
        """A page of `section(name)` as the page and the API show it: forms to verify with
        their labels, queries with their age, visits as they are."""
        if name == "to_verify":
            labels = {code: ftype.label for code, ftype in form_types().items()}
            return [
                FormToVerify(
                    form_code=row["form"],
                    form_label=labels[row["form"]],
                    record_id=row["pk"],
                    participant_id=row["participant_id"],
                    participant=row["participant__subject_id"]
                    or row["participant__screening_number"],
                    site=row["participant__site__code"],
                    time_zone=row["participant__site__time_zone"],
                    visit=row["visit__code"] or "",
                    row_version=row["row_version"],
                    updated_at=row["updated_at"],
                )
                for row in rows
            ]
        if name in _QUERY_SECTIONS:
            labels = {code: ftype.label for code, ftype in form_types().items()}
            return [
                QueuedQuery(q, age_days(q, self.now), labels.get(q.form_code, q.form_code))
                for q in rows
            ]
        return list(rows)

    @cached_property
    def _query_counts(self) -> dict[str, int]:
        bands = {
            f"band{i}": Count("pk", filter=Q(status=QueryStatus.OPEN) & _aged(low, high, self.now))
            for i, (_, low, high) in enumerate(AGE_BANDS)
        }
        return self._queries.aggregate(
            open_queries=Count("pk", filter=Q(status=QueryStatus.OPEN)),
            answered_queries=Count("pk", filter=Q(status=QueryStatus.ANSWERED)),
            **bands,
        )

    @cached_property
    def counts(self) -> dict[str, int]:
        """The rows of each list: three queries (the stored counts with the forms of the
        participants counted afresh, the queries, the visits counted afresh), whatever their
        number."""
        stored = self._backlog.totals()
        visits = self._visits.filter(self._backlog.afresh).aggregate(
            **{
                name: Count("pk", filter=Q(status=status))
                for name, status in _VISIT_SECTIONS.items()
            }
        )
        return {
            "to_verify": stored["to_verify"] if self._to_verify is not None else 0,
            "open_queries": self._query_counts["open_queries"],
            "answered_queries": self._query_counts["answered_queries"],
            **{name: stored[name] + visits[name] for name in _VISIT_SECTIONS},
        }

    @property
    def open_by_age(self) -> dict[str, int]:
        """Open queries by days open (AGE_BANDS), counted with the other query counts."""
        return {label: self._query_counts[f"band{i}"] for i, (label, _, _) in enumerate(AGE_BANDS)}


SdvPlans = dict[str, Q]


def sdv_plans(trial: Trial) -> SdvPlans:
    """Per form code, which participants' entered records the trial's SDV plans verify: every
    participant of the versions that verify the form, and those drawn in the sample where a
    version samples it (a form no version verifies is left out)."""
    versions = list(ProtocolVersion.objects.filter(trial=trial))
    participants: list[tuple[int, str | None, int]] | None = None  # read once, when a plan samples
    plans: SdvPlans = {}
    for code in form_types():
        every: list[int] = []
        sampled: list[int] = []
        for version in versions:
            level, percent = sdv_scope(version, code)
            if level == "all":
                every.append(version.pk)
            elif level == "sampled":
                if participants is None:
                    participants = list(
                        Participant.objects.filter(trial=trial).values_list(
                            "pk", "subject_id", "protocol_version_id"
                        )
                    )
                sampled.extend(
                    pk
                    for pk, subject_id, version_id in participants
                    if version_id == version.pk
                    and sdv_selected(trial.code, subject_id or f"#{pk}", code, percent)
                )
        if every or sampled:
            plans[code] = Q(participant__protocol_version_id__in=every) | Q(
                participant_id__in=sampled
            )
    return plans


def unverified_by_type(where: Q, plans: SdvPlans) -> Iterator[tuple[str, QuerySet[Any]]]:
    """Each form type the plans verify, with its entered records in `where` that have no
    complete current verification, unordered."""
    for code, ftype in form_types().items():
        if code not in plans:
            continue
        verified = SourceVerification.objects.filter(
            form_code=code, object_id=OuterRef("pk"), voided_at__isnull=True, complete=True
        )
        yield (
            code,
            ftype.model.objects.filter(
                where, plans[code], ~Exists(verified), entry_status="entered"
            ).order_by(),
        )


_FORM_COLUMNS = (
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


class Backlog:
    """The queue's counts of the participants in scope, in one statement: their stored counts
    (casebook.models.ReviewBacklog) where these are fresh, and for the other participants
    (`afresh`, those whose forms, visits or signatures changed since the refresh job last ran)
    the forms to verify counted as the list reads them. The visits of `afresh` are counted with
    the visit lists (ReviewQueue.counts). Counting every form of the trial on each request is
    what made the queue slow at thousands of participants."""

    def __init__(self, by_participant: Q) -> None:
        self._stored = ReviewBacklog.objects.filter(by_participant, stale=False)
        # Every participant has a row: the trigger that enrolls one adds it, and migration
        # casebook.0003 added those of the participants before; the stale ones are few and
        # found by a partial index.
        self.afresh = Q(
            participant_id__in=ReviewBacklog.objects.filter(stale=True).values("participant_id")
        )
        self.forms: list[QuerySet[Any]] = []

    @cached_property
    def _totals(self) -> dict[str, int]:
        names = ("to_verify", "unsigned_visits", "overdue_visits", "missed_visits")
        try:
            stored, stored_params = _sql(self._stored.order_by().values(*names))
        except EmptyResultSet:
            return dict.fromkeys(names, 0)
        keys = [records.filter(self.afresh).values("pk") for records in self.forms]
        fresh, fresh_params = "0", ()
        if keys:
            try:
                union, fresh_params = _sql(
                    keys[0].union(*keys[1:], all=True) if len(keys) > 1 else keys[0]
                )
                # The ORM's own SQL, every value a bound parameter.
                fresh = f"SELECT COUNT(*) FROM ({union}) AS afresh"  # noqa: S608
            except EmptyResultSet:
                pass
        sums = ", ".join(f"COALESCE(SUM(b.{name}), 0)" for name in names[1:])
        sql = f"SELECT COALESCE(SUM(b.to_verify), 0) + ({fresh}), {sums} FROM ({stored}) AS b"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, (*fresh_params, *stored_params))
            row = cursor.fetchone()
        return {name: int(value) for name, value in zip(names, row, strict=True)}

    def totals(self) -> dict[str, int]:
        """Forms to verify, visits to sign, overdue and missed, of every participant in scope;
        the visits only of those whose counts are stored."""
        return self._totals


def _sql(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, tuple(params)


class UnverifiedForms:
    """Entered forms with no current verification, of every form type, oldest change first,
    read a slice at a time like a query (`count()`, `[start:stop]`).

    A slice reads from each form type only its first `stop` rows by change, in the order of
    the type's index of entered records (assessments.models.base.to_verify_index), and sorts
    their union: the rows before `stop` of the whole list are among them, since the form code
    that breaks ties is the same within a type. The count is the stored one (Backlog). (SQLite,
    which cannot limit the parts of a union, sorts them whole.)"""

    def __init__(self, types: list[tuple[str, QuerySet[Any]]], backlog: Backlog) -> None:
        self._types = types
        self._backlog = backlog
        backlog.forms = [records for _, records in types]

    def count(self) -> int:
        return self._backlog.totals()["to_verify"]

    def __getitem__(self, key: slice) -> QuerySet[Any]:
        parts = [
            records.values(*_FORM_COLUMNS).annotate(form=Value(code, output_field=CharField()))
            for code, records in self._types
            if not records.query.is_empty()
        ]
        # No participant in scope, or an empty slice (the first page of an empty list): a
        # union of empty parts would be one of them, sliced.
        if not parts or (key.stop is not None and key.stop <= (key.start or 0)):
            return self._types[0][1].none()
        if len(parts) == 1:
            return parts[0].order_by("updated_at", "pk")[key]
        if key.stop is not None and connection.features.supports_slicing_ordering_in_compound:
            parts = [rows.order_by("updated_at", "pk")[: key.stop] for rows in parts]
        return parts[0].union(*parts[1:], all=True).order_by("updated_at", "form", "pk")[key]


def _unverified_forms(where: Q, plans: SdvPlans, backlog: Backlog) -> UnverifiedForms | None:
    """Entered forms with no current verification, of every form type (None when the plans
    verify no form)."""
    types = list(unverified_by_type(where, plans))
    return UnverifiedForms(types, backlog) if types else None


def _queued_queries(
    scope: list[tuple[int, int | None]],
    site: Site | str | None,
    participant: Participant | int | str | None,
) -> QuerySet[DataQuery]:
    """Open and answered queries in the scope, oldest first."""
    return (
        DataQuery.objects.filter(
            scope_condition(scope, trial="trial_id", site="site_id"),
            _site_filter(site, "site"),
            _participant_filter(participant, "participant"),
            status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED],
        )
        .select_related("participant", "site", "opened_by")
        .order_by("opened_at", "pk")
    )


def visits_to_review(by_participant: Q) -> QuerySet[Visit]:
    """Visits completed without a valid visit signature, overdue or missed."""
    signed = Signature.objects.filter(
        scope=SignatureScope.VISIT, visit_id=OuterRef("pk"), voided_at__isnull=True
    )
    return (
        Visit.objects.filter(by_participant)
        .filter(
            Q(status__in=[VisitStatus.OVERDUE, VisitStatus.MISSED])
            | (Q(status=VisitStatus.COMPLETED) & ~Exists(signed))
        )
        .select_related("participant__site")
        .order_by("participant__site__code", "participant__screening_number", "visit_number", "pk")
    )


def review_queue(
    user: Any,
    *,
    trial: Trial,
    site: Site | str | None = None,
    participant: Participant | int | str | None = None,
    age: str = "",
    now: datetime | None = None,
) -> ReviewQueue:
    """What is left to review at the sites the user reviews (all sites for data management
    and safety): forms to verify, open and answered queries, visits to sign, visits overdue
    or missed.

    `age`, a band of AGE_BANDS, keeps only the open queries of that age (answered ones
    stay). Two queries to build it, the user's memberships and the protocol versions (SDV plans);
    then three for the counts (forms, queries with their ages, visits) and one for each page
    of a list, whatever the number of rows.
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
    backlog = Backlog(by_participant)
    return ReviewQueue(
        trial=trial,
        now=now,
        to_verify=_unverified_forms(by_participant, sdv_plans(trial), backlog),
        queries=_queued_queries(scope, site, participant).filter(_open_aged(age, now)),
        visits=visits_to_review(by_participant),
        backlog=backlog,
    )

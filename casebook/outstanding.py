"""What a signature would cover that is still outstanding: forms expected but not entered, open
queries and forms not source-verified; review asks here, by the name in the
REVIEW_OUTSTANDING_CHECK setting, and the signing pages show it before the password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from assessments.forms_kit import FormScope
from assessments.models.base import EntryStatus
from casebook.catalogue import form_types
from review.models import DataQuery, QueryStatus, SourceVerification
from review.services.sdv import sdv_requirement
from visits.models import Visit, VisitStatus


@dataclass(frozen=True)
class Outstanding:
    """Sentences a clinician reads, one per form missing, query open or form not verified."""

    missing: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)

    def sentences(self) -> list[str]:
        return [*self.missing, *self.queries, *self.unverified]

    def __bool__(self) -> bool:
        return bool(self.sentences())


def _where(record: Any) -> str:
    visit = getattr(record, "visit", None)
    return f" ({visit.code})" if visit is not None else ""


def signature_outstanding(
    *, participant: Any, record: Any = None, visit: Any = None, form_code: str = ""
) -> Outstanding:
    """What is outstanding over one form (`record`), one visit, or else the whole casebook."""
    types = form_types()
    if record is None and visit is not None:
        return visits_outstanding([visit])[visit.pk]
    if record is not None:
        visits: list[Any] = []
        records = {form_code: [record]}
    else:
        done = Visit.objects.filter(participant=participant, status=VisitStatus.COMPLETED)
        visits = list(done.order_by("visit_number"))
        records = {}
        for code, ftype in types.items():
            rows = ftype.model._default_manager.filter(participant=participant)
            if "visit" in {f.name for f in ftype.model._meta.get_fields()}:
                rows = rows.select_related("visit")
            records[code] = list(rows.order_by("pk"))

    def _has(code: str, at: Any) -> bool:
        if types[code].scope == FormScope.PARTICIPANT:
            return bool(records.get(code))
        return any(r.visit_id == at.pk for r in records.get(code, []))

    missing = []
    for each in visits:
        # A record marked "not done" counts as entered.
        lacking = [
            str(types[code].label)
            for code in each.forms
            if code in types and types[code].scope != FormScope.LOG and not _has(code, each)
        ]
        if lacking:
            missing.append(
                _("Forms missing at visit %(visit)s: %(forms)s.")
                % {"visit": each.code, "forms": ", ".join(lacking)}
            )
    by_ref = Q(pk__in=[])
    for code, rows in records.items():
        if rows:
            by_ref |= Q(form_code=code, object_id__in=[r.pk for r in rows])
    found = {(code, r.pk): r for code, rows in records.items() for r in rows}
    queries = [
        _("Open query on %(form)s%(visit)s.")
        % {"form": types[q.form_code].label, "visit": _where(found[(q.form_code, q.object_id)])}
        for q in DataQuery.objects.filter(
            by_ref,
            participant=participant,
            status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED],
        ).order_by("opened_at", "pk")
        if (q.form_code, q.object_id) in found
    ]
    verified = set(
        SourceVerification.objects.filter(
            by_ref, participant=participant, voided_at__isnull=True, complete=True
        ).values_list("form_code", "object_id")
    )
    planned = {code for code in records if sdv_requirement(participant, code).needed}
    unverified = [
        _("%(form)s%(visit)s is not source-verified.")
        % {"form": types[code].label, "visit": _where(r)}
        for code, rows in records.items()
        if code in planned
        for r in rows
        if r.entry_status == EntryStatus.ENTERED and (code, r.pk) not in verified
    ]
    return Outstanding(missing, queries, unverified)


def visits_outstanding(visits: Sequence[Visit]) -> dict[int, Outstanding]:
    """What is outstanding over each of `visits`, by visit id: a visit covers its own forms and
    the once-per-participant forms it collects. Read with one query per form type and two
    more, whatever the number of visits; each visit's participant should come with its trial
    and protocol version loaded, which the SDV plan reads."""
    if not visits:
        return {}
    types = form_types()
    by_id = {visit.pk: visit for visit in visits}
    records: dict[int, dict[str, list[Any]]] = {visit.pk: {} for visit in visits}
    for code, ftype in types.items():
        rows = ftype.model._default_manager.all()
        if "visit" in {f.name for f in ftype.model._meta.get_fields()}:
            rows = rows.select_related("visit")
        if ftype.scope in (FormScope.VISIT, FormScope.REPEATING):
            for visit in visits:
                records[visit.pk][code] = []
            for row in rows.filter(visit_id__in=list(by_id)).order_by("pk"):
                visit = by_id[row.visit_id]
                if row.participant_id == visit.participant_id:
                    records[visit.pk][code].append(row)
        elif ftype.scope == FormScope.PARTICIPANT:
            # A visit covers the once-per-participant forms it collects.
            collecting = [visit for visit in visits if code in visit.forms]
            if not collecting:
                continue
            people: dict[int, list[Any]] = {visit.participant_id: [] for visit in collecting}
            for row in rows.filter(participant_id__in=list(people)).order_by("pk"):
                people[row.participant_id].append(row)
            for visit in collecting:
                records[visit.pk][code] = people[visit.participant_id]

    ids: dict[str, set[int]] = {}
    for found in records.values():
        for code, rows in found.items():
            ids.setdefault(code, set()).update(r.pk for r in rows)
    by_ref = Q(pk__in=[])
    for code, pks in ids.items():
        if pks:
            by_ref |= Q(form_code=code, object_id__in=sorted(pks))
    participants = {visit.participant_id for visit in visits}
    open_queries = list(
        DataQuery.objects.filter(
            by_ref,
            participant_id__in=participants,
            status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED],
        ).order_by("opened_at", "pk")
    )
    verified = set(
        SourceVerification.objects.filter(
            by_ref, participant_id__in=participants, voided_at__isnull=True, complete=True
        ).values_list("participant_id", "form_code", "object_id")
    )
    needed: dict[tuple[int, str], bool] = {}

    def planned(participant: Any, code: str) -> bool:
        key = (participant.pk, code)
        if key not in needed:
            needed[key] = sdv_requirement(participant, code).needed
        return needed[key]

    result = {}
    for visit in visits:
        found = records[visit.pk]
        lacking = [
            str(types[code].label)
            for code in visit.forms
            if code in types and types[code].scope != FormScope.LOG and not found.get(code)
        ]
        missing = (
            [
                _("Forms missing at visit %(visit)s: %(forms)s.")
                % {"visit": visit.code, "forms": ", ".join(lacking)}
            ]
            if lacking
            else []
        )
        rows_by_ref = {(code, r.pk): r for code, rows in found.items() for r in rows}
        queries = [
            _("Open query on %(form)s%(visit)s.")
            % {
                "form": types[q.form_code].label,
                "visit": _where(rows_by_ref[(q.form_code, q.object_id)]),
            }
            for q in open_queries
            if q.participant_id == visit.participant_id
            and (q.form_code, q.object_id) in rows_by_ref
        ]
        unverified = [
            _("%(form)s%(visit)s is not source-verified.")
            % {"form": types[code].label, "visit": _where(r)}
            for code, rows in found.items()
            if rows and planned(visit.participant, code)
            for r in rows
            if r.entry_status == EntryStatus.ENTERED
            and (visit.participant_id, code, r.pk) not in verified
        ]
        result[visit.pk] = Outstanding(missing, queries, unverified)
    return result


def outstanding_sentences(**target: Any) -> list[str]:
    """The same, as sentences, for the signing service."""
    return signature_outstanding(**target).sentences()

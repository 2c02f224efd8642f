"""What a signature would cover that is still outstanding: forms expected but not entered, open
queries and forms not source-verified; review asks here, by the name in the
REVIEW_OUTSTANDING_CHECK setting, and the signing pages show it before the password."""

from __future__ import annotations

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
    if record is not None:
        visits: list[Any] = []
        records = {form_code: [record]}
    else:
        done = Visit.objects.filter(participant=participant, status=VisitStatus.COMPLETED)
        visits = [visit] if visit is not None else list(done.order_by("visit_number"))
        records = {}
        for code, ftype in types.items():
            rows = ftype.model._default_manager.filter(participant=participant)
            if visit is not None:
                # A visit covers its own forms, and the once-per-participant forms it collects.
                if ftype.scope in (FormScope.VISIT, FormScope.REPEATING):
                    rows = rows.filter(visit=visit)
                elif not (ftype.scope == FormScope.PARTICIPANT and code in visit.forms):
                    continue
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


def outstanding_sentences(**target: Any) -> list[str]:
    """The same, as sentences, for the signing service."""
    return signature_outstanding(**target).sentences()

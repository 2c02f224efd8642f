"""Which forms of each visit may still lack a record: the home page's "forms missing" reads only
the visits with some left. The form services strike a form off as its record is saved; this
counts them again for visits whose records were written some other way."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from assessments.forms_kit import FormScope, FormType
from casebook.catalogue import form_types
from visits.models import Visit

BATCH = 1000


def collected(types: dict[str, FormType]) -> dict[str, Exists]:
    """For each form type kept per visit or per participant, whether a visit's record exists."""
    found = {}
    for code, ftype in types.items():
        records = ftype.model._default_manager
        if ftype.scope in (FormScope.VISIT, FormScope.REPEATING):
            found[code] = Exists(records.filter(visit=OuterRef("pk")))
        elif ftype.scope == FormScope.PARTICIPANT:
            found[code] = Exists(records.filter(participant=OuterRef("participant")))
    return found


def forms_pending_recount(visits: QuerySet[Visit]) -> int:
    """Strike off the pending forms of `visits` that have a record or cannot be missing; the
    number of visits changed. A bookkeeping field, not data: no history."""
    has = collected(form_types())
    rows = (
        visits.exclude(forms_pending=[])
        .annotate(**{f"has_{code}": found for code, found in has.items()})
        .only("pk", "forms_pending")
        .order_by("pk")
    )
    changed: list[Any] = []
    for visit in rows.iterator(chunk_size=BATCH):
        # Logs and forms outside the catalogue are never missing.
        left = [
            code
            for code in visit.forms_pending
            if code in has and not getattr(visit, f"has_{code}")
        ]
        if left != visit.forms_pending:
            visit.forms_pending = left
            changed.append(visit)
    Visit.objects.bulk_update(changed, ["forms_pending"], batch_size=BATCH)
    return len(changed)

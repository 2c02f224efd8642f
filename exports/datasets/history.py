"""MH (medical history): the SLE and lupus nephritis history taken at selection.

The form asks about two pre-specified conditions, so each record gives two rows with MHPRESP
"Y": systemic lupus erythematosus, with the diagnosis date (partial as entered) as MHSTDTC,
and lupus nephritis, whose qualifying biopsy is not its onset and so gives no start date. The
form asks neither for an end date nor whether a condition is ongoing: MHENDTC and MHENRTPT
would always be null and are not written. MHDTC is the day the history was taken (its visit),
from which MHDY and EPOCH follow. A form recorded as not done gives both rows with MHSTAT
"NOT DONE" and the reason, no date, and the epoch of its visit. MHDECOD and MHBODSYS hold the
MedDRA preferred term and system organ class of the term when the MedDRA release loaded by the
export instant has it as a lowest level term, else they are empty: a pre-specified term is
coded by exact match, never by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assessments.models import MedicalHistory
from coding.models import Dictionary, DictionaryVersion, MeddraTerm
from exports.base import Dataset, ExportContext
from exports.datasets.common import (
    EPOCH,
    NOT_DONE,
    Layout,
    Subject,
    VisitInfo,
    char,
    dtc_day,
    grouped,
    is_not_done,
    keys,
    num,
    records,
    subject_batches,
    visit_day,
    visit_order,
    visit_values,
    visits_of,
)

PRIMARY_DIAGNOSIS = "PRIMARY DIAGNOSIS"
SLE = "Systemic lupus erythematosus"
LUPUS_NEPHRITIS = "Lupus nephritis"
# The pre-specified terms in the order the form asks about them, with the field giving the
# start of each (none for lupus nephritis).
TERMS: tuple[tuple[str, str], ...] = ((SLE, "sle_diagnosis_date"), (LUPUS_NEPHRITIS, ""))

VARIABLES = (
    *keys("MH"),
    char("MHTERM", "Reported Term for the Medical History"),
    char("MHDECOD", "Dictionary-Derived Term"),
    char("MHCAT", "Category for Medical History", codelist=(PRIMARY_DIAGNOSIS,)),
    char("MHPRESP", "Medical History Event Pre-Specified", codelist=("Y",)),
    char("MHOCCUR", "Medical History Occurrence", codelist=("Y",)),
    char("MHSTAT", "Completion Status", codelist=(NOT_DONE,)),
    char("MHREASND", "Reason Medical History Not Collected"),
    char("MHBODSYS", "Body System or Organ Class"),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    EPOCH,
    char("MHDTC", "Date/Time of History Collection"),
    char(
        "MHSTDTC",
        "Start Date/Time of Medical History Event",
        source=("medical_history.sle_diagnosis_date",),
    ),
    num("MHDY", "Study Day of History Collection", unit="days"),
)
LAYOUT = Layout(VARIABLES)


def meddra_terms(ctx: ExportContext, names: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """(PT, SOC) of each of `names` that is a lowest level term of the MedDRA release loaded
    last by the export instant, by name; none before a release is loaded."""
    release = (
        DictionaryVersion.objects.filter(dictionary=Dictionary.MEDDRA, loaded_at__lte=ctx.as_of)
        .order_by("-loaded_at", "-pk")
        .first()
    )
    if release is None:
        return {}
    keys_of = {name.strip().lower(): name for name in names}
    found: dict[str, tuple[str, str]] = {}
    terms = MeddraTerm.objects.filter(version=release, match_key__in=keys_of)
    # A current term wins over a non-current one of the same name.
    for term in terms.order_by("current", "llt_code"):
        found[keys_of[term.match_key]] = (term.pt_name, term.soc_name)
    return found


def _subject_rows(
    subject: Subject,
    rows: list[Any],
    visits: dict[int, VisitInfo],
    coded: dict[str, tuple[str, str]],
) -> Iterator[dict[str, object]]:
    for row in sorted(rows, key=lambda row: (visit_order(visits, row.visit_id), row.id)):
        day = visit_day(visits, row.visit_id)
        not_done = is_not_done(row)
        taken = "" if not_done else day
        for term, start_field in TERMS:
            decoded, body_system = coded.get(term, ("", ""))
            yield {
                "MHTERM": term,
                "MHDECOD": decoded,
                "MHCAT": PRIMARY_DIAGNOSIS,
                "MHPRESP": "Y",
                "MHOCCUR": "" if not_done else "Y",
                "MHSTAT": NOT_DONE if not_done else "",
                "MHREASND": row.not_done_reason if not_done else "",
                "MHBODSYS": body_system,
                **visit_values(visits, row.visit_id),
                "EPOCH": subject.epoch(day),
                "MHDTC": taken,
                "MHSTDTC": getattr(row, start_field) if start_field and not not_done else "",
                "MHDY": subject.dy(dtc_day(taken)),
            }


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    history_of = records(MedicalHistory, ctx, entered=False)
    coded = meddra_terms(ctx, tuple(term for term, _ in TERMS))
    for batch in subject_batches(ctx):
        history = grouped(history_of, batch)
        visits = visits_of(ctx, batch, history)
        for subject in batch:
            rows = _subject_rows(subject, history.get(subject.pk, []), visits, coded)
            for seq, values in enumerate(rows, start=1):
                yield LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "MH",
                        "USUBJID": subject.usubjid,
                        "MHSEQ": seq,
                        **values,
                    }
                )


def _count(ctx: ExportContext) -> int:
    return int(records(MedicalHistory, ctx, entered=False).count()) * len(TERMS)


MH = Dataset(
    name="MH",
    label="Medical History",
    variables=VARIABLES,
    rows=_rows,
    count=_count,
    keys=("USUBJID", "MHSEQ"),
)

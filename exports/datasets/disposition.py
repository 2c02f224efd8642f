"""DS (consent, randomization, how participation ended) and IE (only the criteria not met)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from exports.base import Dataset, ExportContext
from exports.datasets import sql
from exports.datasets.common import (
    Definitions,
    Layout,
    Subject,
    char,
    dtc_day,
    grouped,
    iso_date,
    keys,
    num,
    records,
    subject_batches,
)
from exports.snapshot import as_of
from trials.models import Consent, CriterionKind, EligibilityAnswer, Participant
from trials.models import ParticipantStatus as S

MILESTONE = "PROTOCOL MILESTONE"
DISPOSITION = "DISPOSITION EVENT"
CONSENTED = "INFORMED CONSENT OBTAINED"
RANDOMIZED = "RANDOMIZED"
ENROLLED = "ENROLLED"
ENDINGS: dict[str, str] = {
    S.SCREEN_FAILED: "SCREEN FAILURE",
    S.COMPLETED: "COMPLETED",
    S.WITHDRAWN: "WITHDRAWAL BY SUBJECT",
    S.LOST_TO_FOLLOW_UP: "LOST TO FOLLOW-UP",
}

DS_VARIABLES = (
    *keys("DS"),
    char("DSTERM", "Reported Term for the Disposition Event"),
    char(
        "DSDECOD",
        "Standardized Disposition Term",
        codelist=(CONSENTED, ENROLLED, RANDOMIZED, *sorted(ENDINGS.values())),
    ),
    char("DSCAT", "Category for Disposition Event", codelist=(DISPOSITION, MILESTONE)),
    char("DSSTDTC", "Start Date/Time of Disposition Event"),
    num("DSSTDY", "Study Day of Start of Disposition Event", unit="days"),
)
DS_LAYOUT = Layout(DS_VARIABLES)


def _events(subject: Subject, consents: list[Any]) -> list[tuple[str, int, str, str, str]]:
    """(DSSTDTC, rank, DSTERM, DSDECOD, DSCAT) of one subject, in no particular order."""
    events = [
        (
            iso_date(row.consent_date),
            0,
            f"{CONSENTED}, FORM VERSION {row.form_version}",
            CONSENTED,
            MILESTONE,
        )
        for row in consents
    ]
    if subject.randomized_at is not None:
        decod = ENROLLED if subject.cohort_id is not None else RANDOMIZED
        events.append((subject.dtc(subject.randomized_at), 1, decod, decod, MILESTONE))
    ending = ENDINGS.get(subject.status)
    if ending is not None:
        reason = subject.screen_failure_reason or subject.end_reason or ending
        when = iso_date(subject.local_date(subject.ended_at))
        events.append((when, 2, reason, ending, DISPOSITION))
    return events


def _ds_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    consents_of = records(Consent, ctx, entered=False)
    for batch in subject_batches(ctx):
        consents = grouped(consents_of, batch)
        for subject in batch:
            events = sorted(_events(subject, consents.get(subject.pk, [])))
            for seq, (dtc, _, term, decod, category) in enumerate(events, start=1):
                yield DS_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "DS",
                        "USUBJID": subject.usubjid,
                        "DSSEQ": seq,
                        "DSTERM": term,
                        "DSDECOD": decod,
                        "DSCAT": category,
                        "DSSTDTC": dtc,
                        "DSSTDY": subject.dy(dtc_day(dtc)),
                    }
                )


def _ds_sql(st: sql.Statement) -> sql.Query:
    """DS as one statement. The subject's own events (randomization, how participation
    ended) are those `_events` gives, handed over per subject; consents come from their rows."""
    found = sql.subjects(st.ctx)
    own = [[event for event in _events(subject, []) if event[1]] for subject in found]
    randomized = [next((e for e in events if e[1] == 1), None) for events in own]
    ended = [next((e for e in events if e[1] == 2), None) for events in own]
    extra: dict[str, tuple[str, list[Any]]] = {}
    for prefix, kept in (("r", randomized), ("e", ended)):
        for index, name in enumerate(("dtc", "rank", "term", "decod", "cat")):
            kind = "int" if name == "rank" else "text"
            extra[f"{prefix}_{name}"] = (kind, [e[index] if e else None for e in kept])
    consents = sql.records_sql(Consent, ("consent_date", "form_version"), st, entered=False)
    prefix = f"{CONSENTED}, FORM VERSION "
    head = "s.ord AS sord, s.usubjid, s.day0"
    events = (
        f"ev AS (SELECT {head}, COALESCE(x.consent_date::text, '') AS dtc, x.consent_date "
        f"AS day, 0 AS rank, {st.param(prefix)} || x.form_version AS term, "
        f"{st.param(CONSENTED)}::text AS decod, {st.param(MILESTONE)}::text AS cat "
        f"FROM {consents} AS x JOIN subj AS s ON s.id = x.participant_id "
        "UNION ALL "
        f"SELECT {head}, s.r_dtc, {sql.partial_day('s.r_dtc')}, s.r_rank, s.r_term, s.r_decod, "
        "s.r_cat FROM subj AS s WHERE s.r_rank IS NOT NULL "
        "UNION ALL "
        f"SELECT {head}, s.e_dtc, {sql.partial_day('s.e_dtc')}, s.e_rank, s.e_term, s.e_decod, "
        "s.e_cat FROM subj AS s WHERE s.e_rank IS NOT NULL)"
    )
    order = 'o.dtc COLLATE "C", o.rank, o.term COLLATE "C", o.decod COLLATE "C", o.cat COLLATE "C"'
    columns = {
        **sql.key_columns(st, "DS", sql.numbered(order)),
        "DSTERM": st.text("o.term"),
        "DSDECOD": st.text("o.decod"),
        "DSCAT": st.text("o.cat"),
        "DSSTDTC": "NULLIF(o.dtc, '')",
        "DSSTDY": sql.integer(sql.study_day("o.day", "o.day0")),
    }
    return sql.Query(
        with_=(sql.subjects_sql(st, **extra), events),
        columns=columns,
        source="ev AS o",
        order=f"o.sord, {order}",
    )


def _ds_count(ctx: ExportContext) -> int:
    participants = as_of(Participant, ctx.as_of).filter(trial_id=ctx.trial.pk)
    return (
        records(Consent, ctx, entered=False).count()
        + participants.filter(randomized_at__isnull=False).count()
        + participants.filter(status__in=list(ENDINGS)).count()
    )


DS = Dataset(
    name="DS",
    label="Disposition",
    variables=DS_VARIABLES,
    rows=_ds_rows,
    count=_ds_count,
    sql=_ds_sql,
    keys=("USUBJID", "DSSEQ"),
)

INCLUSION = "INCLUSION"
EXCLUSION = "EXCLUSION"
IE_VARIABLES = (
    *keys("IE"),
    char("IETESTCD", "Inclusion/Exclusion Criterion Short Name", length=8),
    char("IETEST", "Inclusion/Exclusion Criterion"),
    char("IECAT", "Inclusion/Exclusion Category", codelist=(EXCLUSION, INCLUSION)),
    char("IEORRES", "I/E Criterion Original Result", codelist=("N", "Y")),
    char("IESTRESC", "I/E Criterion Result in Std Format", codelist=("N", "Y")),
    char("IEDTC", "Date/Time of Collection"),
    num("IEDY", "Study Day of Collection", unit="days"),
)
IE_LAYOUT = Layout(IE_VARIABLES)
# An inclusion not met, or an exclusion that applies: the only criteria SDTM IE records.
NOT_MET = Q(kind=CriterionKind.INCLUSION, answer=False) | Q(
    kind=CriterionKind.EXCLUSION, answer=True
)


def _ie_rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    definitions = Definitions(ctx)
    answers_of = records(EligibilityAnswer, ctx, entered=False).filter(NOT_MET)
    texts_of: dict[int, dict[str, str]] = {}
    for batch in subject_batches(ctx):
        answers = grouped(answers_of, batch)
        for subject in batch:
            failed = sorted(
                answers.get(subject.pk, []),
                key=lambda row: (row.kind != CriterionKind.INCLUSION, row.criterion_code, row.id),
            )
            if not failed:
                continue
            version = subject.protocol_version_id
            if version not in texts_of:
                eligibility = definitions.of(version).eligibility
                criteria = (*eligibility.inclusion, *eligibility.exclusion)
                texts_of[version] = {criterion.code: criterion.text for criterion in criteria}
            texts = texts_of[version]
            for seq, row in enumerate(failed, start=1):
                inclusion = row.kind == CriterionKind.INCLUSION
                result = "N" if inclusion else "Y"
                dtc = subject.dtc(row.answered_at)
                yield IE_LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "IE",
                        "USUBJID": subject.usubjid,
                        "IESEQ": seq,
                        "IETESTCD": row.criterion_code,
                        "IETEST": texts.get(row.criterion_code, ""),
                        "IECAT": INCLUSION if inclusion else EXCLUSION,
                        "IEORRES": result,
                        "IESTRESC": result,
                        "IEDTC": dtc,
                        "IEDY": subject.dy(dtc_day(dtc)),
                    }
                )


def _ie_sql(st: sql.Statement) -> sql.Query:
    """IE as one statement; the criterion texts of every protocol version of the trial are
    handed over as a table (version, code, text)."""
    definitions = Definitions(st.ctx)
    found = sql.subjects(st.ctx)
    versions = sorted({subject.protocol_version_id for subject in found})
    texts: list[tuple[int, str, str]] = []
    for version in versions:
        eligibility = definitions.of(version).eligibility
        criteria = {c.code: c.text for c in (*eligibility.inclusion, *eligibility.exclusion)}
        texts.extend((version, code, text) for code, text in criteria.items())
    table = (
        f"crit AS (SELECT * FROM unnest({st.param([t[0] for t in texts])}::bigint[], "
        f"{st.param([t[1] for t in texts])}::text[], {st.param([t[2] for t in texts])}::text[]) "
        "AS c(version, code, text))"
    )
    answers = sql.records_sql(
        EligibilityAnswer, ("criterion_code", "kind", "answer", "answered_at"), st, entered=False
    )
    inclusion = sql.quoted(CriterionKind.INCLUSION)
    exclusion = sql.quoted(CriterionKind.EXCLUSION)
    failed = (
        f"ans AS MATERIALIZED (SELECT x.id AS rid, x.criterion_code, x.kind = {inclusion} AS "
        f"inclusion, {sql.local_dtc('x.answered_at', 's.tz')} AS dtc, "
        "(x.answered_at AT TIME ZONE s.tz)::date AS day, c.text, s.ord AS sord, s.usubjid, "
        f"s.day0 FROM {answers} AS x JOIN subj AS s ON s.id = x.participant_id "
        "LEFT JOIN crit AS c ON c.version = s.version AND c.code = x.criterion_code "
        f"WHERE (x.kind = {inclusion} AND x.answer = false) "
        f"OR (x.kind = {exclusion} AND x.answer = true))"
    )
    order = 'NOT o.inclusion, o.criterion_code COLLATE "C", o.rid'
    result = f"CASE WHEN o.inclusion THEN {st.constant('N')} ELSE {st.constant('Y')} END"
    columns = {
        **sql.key_columns(st, "IE", sql.numbered(order)),
        "IETESTCD": st.text("o.criterion_code", 8),
        "IETEST": st.text("o.text"),
        "IECAT": f"CASE WHEN o.inclusion THEN {st.constant(INCLUSION)} "
        f"ELSE {st.constant(EXCLUSION)} END",
        "IEORRES": result,
        "IESTRESC": result,
        "IEDTC": "o.dtc",
        "IEDY": sql.integer(sql.study_day("o.day", "o.day0")),
    }
    versions_of = ("bigint", [subject.protocol_version_id for subject in found])
    return sql.Query(
        with_=(sql.subjects_sql(st, version=versions_of), table, failed),
        columns=columns,
        source="ans AS o",
        order=f"o.sord, {order}",
    )


def _ie_count(ctx: ExportContext) -> int:
    return int(records(EligibilityAnswer, ctx, entered=False).filter(NOT_MET).count())


IE = Dataset(
    name="IE",
    label="Inclusion/Exclusion Criteria Not Met",
    variables=IE_VARIABLES,
    rows=_ie_rows,
    count=_ie_count,
    sql=_ie_sql,
    keys=("USUBJID", "IESEQ"),
)

"""DS (consent, randomization, how participation ended) and IE (only the criteria not met)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from exports.base import Dataset, ExportContext
from exports.datasets.common import (
    EPOCH,
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
from exports.datasets.design import short_text
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
    EPOCH,
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
                        "EPOCH": subject.epoch(dtc),
                        "DSSTDTC": dtc,
                        "DSSTDY": subject.dy(dtc_day(dtc)),
                    }
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
    EPOCH,
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
                # IETEST is the short text; TI has each criterion in full.
                texts_of[version] = {
                    criterion.code: short_text(criterion.text) for criterion in criteria
                }
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
                        "EPOCH": subject.epoch(dtc),
                        "IEDTC": dtc,
                        "IEDY": subject.dy(dtc_day(dtc)),
                    }
                )


def _ie_count(ctx: ExportContext) -> int:
    return int(records(EligibilityAnswer, ctx, entered=False).filter(NOT_MET).count())


IE = Dataset(
    name="IE",
    label="Inclusion/Exclusion Criteria Not Met",
    variables=IE_VARIABLES,
    rows=_ie_rows,
    count=_ie_count,
    keys=("USUBJID", "IESEQ"),
)

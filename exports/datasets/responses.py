"""RS: SLEDAI-2K items and totals with their look-back window (a SLEDAI-2K not done: its total
with RSSTAT "NOT DONE" and the reason); renal responses, one test code per rule set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assessments.models import RenalAssessment, SledaiAssessment
from assessments.models.sledai import item_field
from assessments.scoring import ScoringInputError, get_rule_set
from assessments.scoring.sledai_descriptors import DESCRIPTORS
from exports.base import Dataset, ExportContext, Supplemental, Variable
from exports.datasets.common import (
    EPOCH,
    NOT_DONE,
    NOT_DONE_STATUS,
    Layout,
    Subject,
    VisitInfo,
    char,
    dtc_day,
    grouped,
    is_not_done,
    iso_date,
    keys,
    num,
    records,
    subject_batches,
    visit_day,
    visit_order,
    visit_values,
    visits_of,
)
from exports.datasets.findings import count_filled, link_id, renal_links
from exports.snapshot import stream

SLEDAI = "SLEDAI-2K"
TOTAL = ("SLDAITOT", "SLEDAI-2K Total Score", "total")
CLINICAL = ("SLDAICLN", "Clinical SLEDAI-2K Score", "clinical_total")
RENAL_RESPONSE = "RENAL RESPONSE"
INVESTIGATOR = "INVESTIGATOR"
# RSTESTCD of each renal response rule set: a trial that also scores its responses by other
# rule sets (secondary_rule_sets) has one result per test code at each assessment.
RESPONSE_CODES = {
    "eular2019": "RRESEULR",
    "kdigo2021": "RRESKDGO",
    "bliss_ln": "RRESBLSS",
    "acr2006": "RRESACR",
    "nct03917797_cr": "RRESMSCR",
}
RESPONSE_PREFIX = "RRES"


def response_test(code: str, version: object) -> tuple[str, str, str]:
    """RSTESTCD, RSTEST and RSMETHOD of the response by rule set `code` (and its version):
    the rule set's name and version, never the code the eCRF stores. An unknown rule set has
    a test code made of its letters and digits."""
    try:
        name = get_rule_set(code).calculator.name
    except ScoringInputError:
        name = f"{code.strip()} renal response"
    test_code = RESPONSE_CODES.get(code)
    if test_code is None:
        letters = "".join(char for char in code.upper() if char.isascii() and char.isalnum())
        test_code = (RESPONSE_PREFIX + letters)[:8]
    method = f"{name.upper()}, VERSION {version}".strip() if str(version).strip() else name.upper()
    return test_code, name[:40], " ".join(method.split())


VARIABLES: tuple[Variable, ...] = (
    *keys("RS"),
    link_id("RSLNKID"),
    char("RSCAT", "Category for Assessment"),
    char(
        "RSTESTCD",
        "Assessment Short Name",
        length=8,
        codelist=(
            *(d.code for d in DESCRIPTORS),
            TOTAL[0],
            CLINICAL[0],
            *RESPONSE_CODES.values(),
        ),
    ),
    char("RSTEST", "Assessment Name"),
    char(
        "RSORRES",
        "Result or Finding in Original Units",
        source=("sledai2k.total", "renal.response_category"),
    ),
    char("RSSTRESC", "Character Result/Finding in Std Format"),
    num("RSSTRESN", "Numeric Result/Finding in Standard Units", unit="points"),
    char("RSSTAT", "Completion Status", codelist=(NOT_DONE,)),
    char("RSREASND", "Reason Not Done"),
    char("RSEVLINT", "Evaluation Interval", codelist=("-P10D", "-P30D")),
    char("RSEVAL", "Evaluator", codelist=(INVESTIGATOR,)),
    char("RSDRVFL", "Derived Flag", codelist=("Y",)),
    char("RSMETHOD", "Method: Calculator or Rule Set, Version"),
    char(
        "RSPROVFL",
        "Provisional Result Flag",
        codelist=("Y",),
        supplemental=Supplemental("Derived"),
    ),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
    EPOCH,
    char("RSDTC", "Date/Time of Assessment"),
    num("RSDY", "Study Day of Assessment", unit="days"),
)
LAYOUT = Layout(VARIABLES)


def _sledai_results(row: Any) -> Iterator[dict[str, object]]:
    scored = {item["code"]: int(item["weight"]) for item in row.contributions or []}
    common = {"RSCAT": SLEDAI, "RSEVLINT": f"-P{row.window_days}D", "RSEVAL": INVESTIGATOR}
    for descriptor in DESCRIPTORS:
        points = scored.get(descriptor.code, 0)
        yield {
            **common,
            "RSTESTCD": descriptor.code,
            "RSTEST": descriptor.label,
            "RSORRES": "Y" if getattr(row, item_field(descriptor.code)) else "N",
            "RSSTRESC": str(points),
            "RSSTRESN": points,
        }
    method = f"{row.calculator} {row.calculator_version}".strip()
    for code, name, field in (TOTAL, CLINICAL):
        value = getattr(row, field)
        if value is not None:
            yield {
                **common,
                "RSTESTCD": code,
                "RSTEST": name,
                "RSORRES": str(value),
                "RSSTRESC": str(value),
                "RSSTRESN": value,
                "RSDRVFL": "Y",
                "RSMETHOD": method,
            }


def _sledai_not_done(row: Any) -> dict[str, object]:
    """A SLEDAI-2K recorded as not done: its total, not done, with the reason."""
    return {
        "RSCAT": SLEDAI,
        "RSTESTCD": TOTAL[0],
        "RSTEST": TOTAL[1],
        "RSSTAT": NOT_DONE,
        "RSREASND": row.not_done_reason,
    }


def _response(code: str, category: str, version: str, provisional: Any) -> dict[str, object]:
    test_code, name, method = response_test(code, version)
    return {
        "RSCAT": RENAL_RESPONSE,
        "RSTESTCD": test_code,
        "RSTEST": name,
        "RSORRES": category,
        "RSSTRESC": category,
        "RSDRVFL": "Y",
        "RSMETHOD": method,
        "RSPROVFL": "Y" if provisional else "",
    }


def renal_responses(
    category: str, rule_set: str, version: str, provisional: Any, secondary: Any
) -> list[dict[str, object]]:
    """The primary response, then each secondary rule set's, of those that gave a category;
    a rule set whose test code came before is left out (one result per test code)."""
    found: list[dict[str, object]] = []
    if category:
        found.append(_response(rule_set, category, version, provisional))
    for code in sorted(secondary or {}):
        item = secondary[code]
        if item.get("category"):
            found.append(
                _response(code, item["category"], item.get("version", ""), item.get("provisional"))
            )
    kept: dict[object, dict[str, object]] = {}
    for values in found:
        kept.setdefault(values["RSTESTCD"], values)
    return list(kept.values())


def _subject_rows(
    subject: Subject, sledai: list[Any], renal: list[Any], visits: dict[int, VisitInfo]
) -> list[dict[str, object]]:
    found: list[tuple[tuple[Any, ...], dict[str, object]]] = []
    links = renal_links(renal, visits)
    for source, rows in ((0, sledai), (1, renal)):
        for row in rows:
            skipped = is_not_done(row)
            # Not assessed: no date; its epoch is that of its visit.
            dtc = "" if skipped else iso_date(row.assessment_date)
            day = dtc or visit_day(visits, row.visit_id)
            link = {"RSLNKID": links[row.id]} if source == 1 else {}
            if skipped:
                results = [_sledai_not_done(row)]
            elif source == 0:
                results = list(_sledai_results(row))
            else:
                results = renal_responses(
                    row.response_category,
                    row.response_rule_set,
                    row.response_version,
                    row.response_provisional,
                    row.secondary_responses,
                )
            for order, values in enumerate(results):
                key = (visit_order(visits, row.visit_id), dtc, source, row.id, order)
                found.append(
                    (
                        key,
                        {
                            **values,
                            **link,
                            **visit_values(visits, row.visit_id),
                            "EPOCH": subject.epoch(day),
                            "RSDTC": dtc,
                            "RSDY": subject.dy(dtc_day(dtc)),
                        },
                    )
                )
    found.sort(key=lambda item: item[0])
    return [values for _, values in found]


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    # SLEDAI-2K not done is a test not done; a renal assessment not done gives no response
    # (its laboratory tests are in LB).
    sledai_of = records(SledaiAssessment, ctx, entered=False)
    renal_of = records(RenalAssessment, ctx)
    for batch in subject_batches(ctx):
        sledai, renal = grouped(sledai_of, batch), grouped(renal_of, batch)
        visits = visits_of(ctx, batch, sledai, renal)
        for subject in batch:
            rows = _subject_rows(
                subject, sledai.get(subject.pk, []), renal.get(subject.pk, []), visits
            )
            for seq, values in enumerate(rows, start=1):
                yield LAYOUT.row(
                    {
                        "STUDYID": ctx.trial.code,
                        "DOMAIN": "RS",
                        "USUBJID": subject.usubjid,
                        "RSSEQ": seq,
                        **values,
                    }
                )


def _responses(ctx: ExportContext) -> Iterator[list[dict[str, object]]]:
    """The renal responses of each renal assessment, without their visits and dates."""
    renal = records(RenalAssessment, ctx).values_list(
        "response_category",
        "response_rule_set",
        "response_version",
        "response_provisional",
        "secondary_responses",
    )
    for values in stream(renal.order_by("id")):
        yield renal_responses(*values)


def _count(ctx: ExportContext) -> int:
    sledai = records(SledaiAssessment, ctx)
    total = len(DESCRIPTORS) * sledai.count() + count_filled(sledai, ("total", "clinical_total"))
    skipped = records(SledaiAssessment, ctx, entered=False).filter(entry_status=NOT_DONE_STATUS)
    total += int(skipped.count())
    return total + sum(len(found) for found in _responses(ctx))


def _supprs_count(ctx: ExportContext, qnams: frozenset[str]) -> int:
    if "RSPROVFL" not in qnams:
        return 0
    return sum(1 for found in _responses(ctx) for values in found if values.get("RSPROVFL"))


RS = Dataset(
    name="RS",
    label="Disease Response and Clin Classification",
    variables=VARIABLES,
    rows=_rows,
    count=_count,
    keys=("USUBJID", "RSSEQ"),
    supplemental_count=_supprs_count,
)

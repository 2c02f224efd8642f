"""RS: SLEDAI-2K items and totals with their look-back window; renal responses with rule set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.expressions import RawSQL

from assessments.models import RenalAssessment, SledaiAssessment
from assessments.models.sledai import item_field
from assessments.scoring import RULE_SETS, ScoringInputError, get_rule_set
from assessments.scoring.sledai_descriptors import DESCRIPTORS
from exports.base import Dataset, ExportContext, Variable
from exports.datasets import sql
from exports.datasets.common import (
    Layout,
    Subject,
    VisitInfo,
    char,
    dtc_day,
    grouped,
    iso_date,
    keys,
    num,
    records,
    subject_batches,
    visit_order,
    visit_values,
    visits_of,
)
from exports.datasets.findings import count_filled
from exports.snapshot import stream

SLEDAI = "SLEDAI-2K"
TOTAL = ("SLDAITOT", "SLEDAI-2K Total Score", "total")
CLINICAL = ("SLDAICLN", "Clinical SLEDAI-2K Score", "clinical_total")
RESPONSE = ("RENRESP", "Renal Response")
INVESTIGATOR = "INVESTIGATOR"


def rule_set_category(code: str) -> str:
    """RSCAT of a renal response: the rule set's name, e.g. EULAR/ERA-EDTA 2019 RENAL RESPONSE."""
    try:
        return get_rule_set(code).calculator.name.upper()
    except ScoringInputError:
        return code.upper()


VARIABLES: tuple[Variable, ...] = (
    *keys("RS"),
    char("RSCAT", "Category for Assessment"),
    char(
        "RSTESTCD",
        "Assessment Short Name",
        length=8,
        codelist=(*(d.code for d in DESCRIPTORS), TOTAL[0], CLINICAL[0], RESPONSE[0]),
    ),
    char("RSTEST", "Assessment Name"),
    char(
        "RSORRES",
        "Result or Finding in Original Units",
        source=("sledai2k.total", "renal.response_category"),
    ),
    char("RSSTRESC", "Character Result/Finding in Std Format"),
    num("RSSTRESN", "Numeric Result/Finding in Standard Units", unit="points"),
    char("RSEVLINT", "Evaluation Interval", codelist=("-P10D", "-P30D")),
    char("RSEVAL", "Evaluator", codelist=(INVESTIGATOR,)),
    char("RSDRVFL", "Derived Flag", codelist=("Y",)),
    char("RSMETHOD", "Method: Calculator or Rule Set, Version"),
    char("RSPROVFL", "Provisional Result Flag", codelist=("Y",)),
    num("VISITNUM", "Visit Number"),
    char("VISIT", "Visit Name"),
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


def _response(code: str, category: str, version: str, provisional: Any) -> dict[str, object]:
    return {
        "RSCAT": rule_set_category(code),
        "RSTESTCD": RESPONSE[0],
        "RSTEST": RESPONSE[1],
        "RSORRES": category,
        "RSSTRESC": category,
        "RSDRVFL": "Y",
        "RSMETHOD": f"{code} {version}".strip(),
        "RSPROVFL": "Y" if provisional else "",
    }


def renal_responses(
    category: str, rule_set: str, version: str, provisional: Any, secondary: Any
) -> list[dict[str, object]]:
    """The primary response, then each secondary rule set's, of those that gave a category."""
    found = []
    if category:
        found.append(_response(rule_set, category, version, provisional))
    for code in sorted(secondary or {}):
        item = secondary[code]
        if item.get("category"):
            found.append(
                _response(code, item["category"], item.get("version", ""), item.get("provisional"))
            )
    return found


def _subject_rows(
    subject: Subject, sledai: list[Any], renal: list[Any], visits: dict[int, VisitInfo]
) -> list[dict[str, object]]:
    found: list[tuple[tuple[Any, ...], dict[str, object]]] = []
    for source, rows in ((0, sledai), (1, renal)):
        for row in rows:
            dtc = iso_date(row.assessment_date)
            if source == 0:
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
                            **visit_values(visits, row.visit_id),
                            "RSDTC": dtc,
                            "RSDY": subject.dy(dtc_day(dtc)),
                        },
                    )
                )
    found.sort(key=lambda item: item[0])
    return [values for _, values in found]


def _rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
    sledai_of, renal_of = records(SledaiAssessment, ctx), records(RenalAssessment, ctx)
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


# The secondary responses of a renal assessment that give a category (PostgreSQL).
SECONDARY_RESPONSES = (
    "(SELECT count(*) FROM jsonb_each(CASE WHEN jsonb_typeof(secondary_responses) = 'object' "
    "THEN secondary_responses ELSE '{}' END) AS e WHERE jsonb_typeof(e.value) = 'object' "
    "AND COALESCE(e.value ->> 'category', '') <> '')"
)


def _count(ctx: ExportContext) -> int:
    sledai = records(SledaiAssessment, ctx)
    total = len(DESCRIPTORS) * sledai.count() + count_filled(sledai, ("total", "clinical_total"))
    if sql.copy_available():
        # The same count as the loop below, in the database.
        counted = records(RenalAssessment, ctx).aggregate(
            primary=Count("id", filter=~Q(response_category="")),
            secondary=Sum(RawSQL(SECONDARY_RESPONSES, ())),  # noqa: S611 (a constant)
        )
        return total + int(counted["primary"] or 0) + int(counted["secondary"] or 0)
    renal = records(RenalAssessment, ctx).values_list(
        "response_category",
        "response_rule_set",
        "response_version",
        "response_provisional",
        "secondary_responses",
    )
    for values in stream(renal.order_by("id")):
        total += len(renal_responses(*values))
    return total


def _provisional_sql(value: str) -> str:
    """Python's truth of a JSON value."""
    return (
        f"CASE jsonb_typeof({value}) WHEN 'boolean' THEN ({value})::text::boolean "
        f"WHEN 'string' THEN {value} #>> '{{}}' <> '' "
        f"WHEN 'number' THEN ({value})::text::numeric <> 0 "
        f"WHEN 'array' THEN jsonb_array_length({value}) > 0 WHEN 'object' THEN {value} <> '{{}}' "
        "ELSE false END"
    )


def _sql(st: sql.Statement) -> sql.Query:
    """RS as one statement, in the order `_subject_rows` sorts the results. A result is
    carried as its index `k` in DESCRIPTORS, then the two totals, then the renal response."""
    ws = st.param(sql.WHITESPACE)

    def stripped(expr: str) -> str:
        return f"rtrim(ltrim({expr}, {ws}), {ws})"

    tests = (
        [(d.code, d.label) for d in DESCRIPTORS]
        + [(code, name) for code, name, _ in (TOTAL, CLINICAL)]
        + [RESPONSE]
    )
    codes = st.texts([code for code, _ in tests], 8)
    names = st.texts([name for _, name in tests])
    response_k = len(tests) - 1
    yes, no = st.constant("Y"), st.constant("N")
    items = ", ".join(
        f"({n}, CASE WHEN x.{item_field(d.code)} THEN {yes} ELSE {no} END, "
        f"COALESCE(trunc((k.points ->> {sql.quoted(d.code)})::numeric)::int, 0), NULL::text)"
        for n, d in enumerate(DESCRIPTORS)
    )
    method = st.text(stripped("x.calculator || ' ' || x.calculator_version"))
    totals = ", ".join(
        f"({len(DESCRIPTORS) + n}, x.{field}::text, x.{field}::int, {method})"
        for n, (_, _, field) in enumerate((TOTAL, CLINICAL))
    )
    sledai_columns = (
        "visit_id",
        "assessment_date",
        "window_days",
        "contributions",
        "calculator",
        "calculator_version",
        "total",
        "clinical_total",
        *(item_field(d.code) for d in DESCRIPTORS),
    )
    renal_columns = (
        "visit_id",
        "assessment_date",
        "response_category",
        "response_rule_set",
        "response_version",
        "response_provisional",
        "secondary_responses",
    )
    known = [(sql.quoted(code), st.constant(rule_set_category(code))) for code in sorted(RULE_SETS)]

    def response(code: str, result: str, version: str, provisional: str) -> str:
        category = st.text(sql.when(known, code, f"upper({code})"))
        rule_method = st.text(stripped(code + " || ' ' || " + version))
        return (
            f"{response_k}, {category}, {st.text(result)}, NULL::int, {rule_method}, "
            f"{provisional}, NULL::int"
        )

    sledai = sql.records_sql(SledaiAssessment, sledai_columns, st)
    renal = sql.records_sql(RenalAssessment, renal_columns, st)
    secondary = (
        "CASE WHEN jsonb_typeof(x.secondary_responses) = 'object' "
        "THEN x.secondary_responses ELSE '{}' END"
    )
    head = f"{sql.CARRIED}, x.assessment_date AS day, x.id AS rid"
    results = (
        f"res AS (SELECT {head}, 0 AS source, t.k AS sub, ''::text AS subkey, t.k, "
        "NULL::text AS rscat, t.orres, t.points, t.method, NULL::boolean AS provisional, "
        "x.window_days::int AS window_days "
        f"FROM {sledai} AS x {sql.SUBJECT_AND_VISIT} "
        "CROSS JOIN LATERAL (SELECT jsonb_object_agg(c ->> 'code', c -> 'weight') AS points "
        "FROM jsonb_array_elements(CASE WHEN jsonb_typeof(x.contributions) = 'array' "
        "THEN x.contributions ELSE '[]' END) AS c) AS k "
        f"CROSS JOIN LATERAL (VALUES {items}, {totals}) AS t(k, orres, points, method) "
        f"WHERE t.k < {len(DESCRIPTORS)} OR t.points IS NOT NULL "
        "UNION ALL "
        f"SELECT {head}, 1, 0, '', "
        + response(
            "x.response_rule_set",
            "x.response_category",
            "x.response_version",
            "x.response_provisional",
        )
        + f" FROM {renal} AS x {sql.SUBJECT_AND_VISIT} WHERE x.response_category <> '' "
        "UNION ALL "
        f"SELECT {head}, 1, 1, e.key, "
        + response(
            "e.key",
            "(e.value ->> 'category')",
            "COALESCE(e.value ->> 'version', '')",
            _provisional_sql("(e.value -> 'provisional')"),
        )
        + f" FROM {renal} AS x {sql.SUBJECT_AND_VISIT} "
        f"CROSS JOIN LATERAL jsonb_each({secondary}) AS e "
        "WHERE jsonb_typeof(e.value) = 'object' AND COALESCE(e.value ->> 'category', '') <> '')"
    )
    order = 'o.visitnum NULLS LAST, o.day NULLS FIRST, o.source, o.rid, o.sub, o.subkey COLLATE "C"'
    columns = {
        **sql.key_columns(st, "RS", sql.numbered(order)),
        "RSCAT": f"CASE WHEN o.source = 0 THEN {st.constant(SLEDAI)} ELSE o.rscat END",
        "RSTESTCD": f"({codes})[o.k + 1]",
        "RSTEST": f"({names})[o.k + 1]",
        "RSORRES": "o.orres",
        "RSSTRESC": "COALESCE(o.points::text, o.orres)",
        "RSSTRESN": sql.integer("o.points"),
        "RSEVLINT": "CASE WHEN o.source = 0 THEN '-P' || o.window_days || 'D' END",
        "RSEVAL": f"CASE WHEN o.source = 0 THEN {st.constant(INVESTIGATOR)} END",
        "RSDRVFL": f"CASE WHEN o.k >= {len(DESCRIPTORS)} THEN {yes} END",
        "RSMETHOD": "o.method",
        "RSPROVFL": f"CASE WHEN o.provisional THEN {yes} END",
        **sql.VISIT_COLUMNS,
        "RSDTC": "o.day::text",
        "RSDY": sql.integer(sql.study_day("o.day", "o.day0")),
    }
    return sql.Query(
        with_=(sql.subjects_sql(st), sql.visits_sql(st), results),
        columns=columns,
        source="res AS o",
        order=f"o.sord, {order}",
    )


RS = Dataset(
    name="RS",
    label="Disease Response and Clin Classification",
    variables=VARIABLES,
    rows=_rows,
    count=_count,
    sql=_sql,
    keys=("USUBJID", "RSSEQ"),
)

"""The visit-flagging job against one hand-written SQL UPDATE of the same rows, in one run."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = "protocols/nct03673748.yaml"
TRIAL = "MSVLE"
RESULT_PREFIX = "BENCH-RESULT "
TARGET_RATIO = 1.5
BASELINE_RUNS = 3
# The job's functions timed as phases: (module, name), wrapped where the job looks them up.
PHASES = (
    ("flagging.visits", "visits_flag_step"),
    ("flagging.visits", "_claim"),
    ("flagging.visits", "_apply"),
    ("flagging.visits", "_compare_and_set"),
    ("alerts.services", "_messages"),
    ("flagging.visits", "alerts_raise_from"),
    ("flagging.visits", "deviations_draft_from"),
    ("alerts.services", "_send"),
    ("flagging.visits", "alerts_email_pending"),
    ("flagging.visits", "heartbeat_record"),
    ("flagging.visits", "system_actor"),
)
OPEN = "('scheduled', 'open', 'overdue')"
# The all-writes reference runs on the first due visits only (per visit in the report): on all
# of 1,000,000 it alone would take minutes.
REFERENCE_ROWS = 200_000
SAMPLE_SQL = (
    f"SELECT id FROM visits_visit WHERE status IN {OPEN} AND window_closes_at <= %(now)s "
    "ORDER BY window_closes_at, id LIMIT %(sample)s"
)
WRITTEN = (
    "visits_visit",
    "visits_historicalvisit",
    "alerts_alert",
    "alerts_historicalalert",
    "assessments_protocoldeviation",
    "assessments_historicalprotocoldeviation",
)
BASELINE_SQL = (
    "UPDATE visits_visit SET status = 'missed', flagged_at = window_closes_at "
    f"WHERE status IN {OPEN} AND window_closes_at <= %s"
)


# --- the run: a fresh database per size, set up by the project's own commands -----------------


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _server(pg_url: str) -> Any:
    import psycopg

    return psycopg.connect(f"{pg_url.rstrip('/')}/postgres", autocommit=True)


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="ecrf.settings.local",
        DEBUG="0",  # no SQL kept in memory per query, as in production
        LOG_LEVEL="WARNING",
        # The job's alert e-mails are built as in production, then dropped.
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def run_size(
    *, visits: int, batch: int, budget: float, explain: bool, pg_url: str, now: datetime
) -> dict[str, Any]:
    """Create, fill and measure a fresh database with `visits` due visits, then drop it."""
    name = f"ecrf_bench_{os.getpid()}"
    database_url = f"{pg_url.rstrip('/')}/{name}"
    env = _env(database_url)
    with _server(pg_url) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    load_before = os.getloadavg()[0]
    try:
        log(f"{name}: migrate")
        _manage(env, "migrate", "--noinput", "-v0")
        _manage(env, "load_protocol", PROTOCOL)
        log(f"{name}: generate_visits --count {visits}")
        generated = _manage(
            env,
            "generate_visits",
            "--count",
            str(visits),
            "--trial",
            TRIAL,
            "--now",
            now.isoformat(),
        )
        log(f"{name}: generated in {generated:.1f} s; measuring")
        command = [
            sys.executable,
            "-m",
            "bench.visit_flagging",
            "--now",
            now.isoformat(),
            "--batch",
            str(batch),
            "--budget",
            str(budget),
        ]
        if explain:
            command.append("--explain")
        output = subprocess.run(
            command, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
        ).stdout
        lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
        if not lines:
            raise RuntimeError("The measuring process printed no result.")
        result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
        result["generate_seconds"] = generated
        # Other work on the machine skews the figures; its load is kept with them.
        result["load_average"] = [load_before, os.getloadavg()[0]]
        return result
    finally:
        with _server(pg_url) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"{name}: dropped")


def machine(pg_url: str) -> dict[str, Any]:
    with _server(pg_url) as server:
        version = server.execute("SHOW server_version").fetchone()[0]
        settings = dict(
            server.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'synchronous_commit', 'max_wal_size')"
            ).fetchall()
        )
    return {
        "cpus": os.cpu_count(),
        "postgresql": version,
        "python": sys.version.split()[0],
        **settings,
    }


# --- the measurement, inside a Django process on the generated database ----------------------

# The job's code, fingerprinted in the results: the tree may change between runs.
JOB_SOURCES = (
    "flagging/visits.py",
    "alerts/services.py",
    "assessments/deviations.py",
    "review/locks.py",
)


def job_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in JOB_SOURCES:
        path = ROOT / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _shape(sql: str) -> str:
    return re.sub(r"(%s, )+%s", "%s, …", " ".join(sql.split()))


def _statement(sql: str) -> str:
    """'VERB table' of one statement, for grouping."""
    text = sql.lstrip()
    head = text[:40].upper()
    if head.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
        return "SAVEPOINT"
    for verb, pattern in (
        ("SELECT", r'^SELECT\b.*?\bFROM\s+"?(\w+)"?'),
        ("UPDATE", r'^UPDATE\s+"?(\w+)"?'),
        ("INSERT", r'^INSERT\s+INTO\s+"?(\w+)"?'),
        ("DELETE", r'^DELETE\s+FROM\s+"?(\w+)"?'),
    ):
        if head.startswith(verb):
            found = re.match(pattern, text, re.IGNORECASE | re.DOTALL)
            return f"{verb} {found.group(1) if found else '?'}"
    return text.split(None, 1)[0].upper() if text else "?"


class Recorder:
    """Counts and times every statement, by statement kind and by the job phase running it;
    optionally runs EXPLAIN ANALYZE once per query shape while a phase is armed."""

    def __init__(self, *, explain: bool) -> None:
        self.explain = explain
        self.stack: list[str] = []
        self.count = 0
        self.by_statement: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        self.by_phase: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        self.armed: set[str] = set()
        self.plans: dict[str, dict[str, Any]] = {}
        self.overhead: dict[str, float] = defaultdict(float)  # EXPLAIN time, per phase
        self.overhead_total = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ):
        phase = self.stack[-1] if self.stack else "(outside the phases)"
        if self.explain and phase in self.armed and sql.lstrip()[:6].upper() == "SELECT":
            shape = _shape(sql)
            if shape not in self.plans:
                self._explain(execute, sql, params, context, phase, shape)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.count += 1
            for table, key in ((self.by_statement, _statement(sql)), (self.by_phase, phase)):
                table[key][0] += 1
                table[key][1] += elapsed

    def _explain(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        context: Any,
        phase: str,
        shape: str,
    ) -> None:
        started = time.perf_counter()
        execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params, False, context)
        plan = "\n".join(row[0] for row in context["cursor"].fetchall())
        # A batch's thousand keys make one unreadable line: keep their number only.
        plan = re.sub(
            r"'\{([^}]{120,})\}'", lambda m: f"'{{… {m.group(1).count(',') + 1} values}}'", plan
        )
        elapsed = time.perf_counter() - started
        self.plans[shape] = {"phase": phase, "sql": shape[:300], "plan": plan}
        self.overhead_total += elapsed
        for name in self.stack:
            self.overhead[name] += elapsed


@contextmanager
def _phases(recorder: Recorder, rows: int, budget: float) -> Iterator[dict[str, list[float]]]:
    """Time the job's phases by wrapping the names the job looks up when it runs."""
    import importlib

    times: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    progress = {"changed": 0, "next_report": 0.1, "started": time.monotonic()}
    modules = {module: importlib.import_module(module) for module, _ in PHASES}
    originals = {(module, name): getattr(modules[module], name) for module, name in PHASES}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if name == "alerts_email_pending" and times[name][0] == 0:
                # The first call: the catch-up query over alerts not e-mailed yet.
                recorder.armed = {name}
            recorder.stack.append(name)
            started = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            finally:
                times[name][0] += 1
                times[name][1] += time.perf_counter() - started
                recorder.stack.pop()
            if name == "visits_flag_step":
                progress["changed"] += result.changed
                done = progress["changed"] / max(rows, 1)
                if recorder.armed and "visits_flag_step" in recorder.armed:
                    recorder.armed = set()
                elif not recorder.plans and (
                    done >= 0.5 or 0 < budget <= 2 * (time.monotonic() - progress["started"])
                ):
                    # Explain the next step's queries half-way (through the visits or the
                    # budget), with the tables as full as they then are.
                    recorder.armed = {
                        "visits_flag_step",
                        "_claim",
                        "_compare_and_set",
                        "alerts_raise_from",
                        "deviations_draft_from",
                    }
                if done >= progress["next_report"]:
                    log(f"job: {progress['changed']} of {rows} visits flagged")
                    progress["next_report"] += 0.1
            return result

        return wrapper

    for (module, name), function in originals.items():
        setattr(modules[module], name, timed(name, function))
    try:
        yield times
    finally:
        for (module, name), function in originals.items():
            setattr(modules[module], name, function)


def _timed_rollback(
    sql: str, params: list[Any] | dict[str, Any], *, checks: bool = False
) -> tuple[float, int]:
    """Run one statement in a transaction that is rolled back; its time and row count. With
    `checks`, the foreign-key checks that a commit would run (they are deferred, and a rolled
    back transaction never runs them) run inside the statement and are timed with it."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if checks:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        started = time.perf_counter()
        cursor.execute(sql, params)
        elapsed = time.perf_counter() - started
        count = cursor.rowcount
        transaction.set_rollback(True)
    return elapsed, count


def _vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def _history_baseline_sql() -> str:
    """The UPDATE with the history row the job writes per visit, as one statement."""
    from visits.models import Visit

    own = {field.column for field in Visit._meta.concrete_fields}
    history = Visit.history.model  # type: ignore[attr-defined]
    columns = ", ".join(
        field.column for field in history._meta.concrete_fields if field.column in own
    )
    update = BASELINE_SQL.replace("%s", "%(now)s")
    return (
        f"WITH changed AS ({update} RETURNING *) "
        f"INSERT INTO {history._meta.db_table} ({columns}, history_date, "
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, %(now)s, %(reason)s, '~', %(actor)s FROM changed"
    )


def _history_insert(model: type[Any], source: str, reason: str) -> str:
    """INSERT of the history rows of the rows a CTE `source` returned, as the job writes them."""
    own = {field.column for field in model._meta.concrete_fields}
    history = model.history.model  # type: ignore[attr-defined]
    columns = ", ".join(
        field.column for field in history._meta.concrete_fields if field.column in own
    )
    return (
        f"INSERT INTO {history._meta.db_table} ({columns}, history_date, "
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, %(now)s, {reason}, %(type)s, %(actor)s FROM {source}"
    )


def _all_writes_sql() -> str:
    """Every write of the job's missed-visit path (visits, alerts, deviations and the history
    of each) as one hand-written statement: the floor for any implementation of the job."""
    from alerts.models import Alert
    from assessments.models import ProtocolDeviation
    from flagging.visits import ACTIVE
    from visits.models import Visit

    active = ", ".join(f"'{status}'" for status in ACTIVE)
    first = "to_char((c.window_opens_at AT TIME ZONE s.time_zone)::date, 'YYYY-MM-DD')"
    last = "to_char((c.window_closes_at AT TIME ZONE s.time_zone)::date - 1, 'YYYY-MM-DD')"
    window = f"{first} || ' to ' || {last}"
    visit_history = _history_insert(Visit, "changed", "%(visit_reason)s").replace("%(type)s", "'~'")
    alert_history = _history_insert(Alert, "alerts", "'Raised by job'").replace("%(type)s", "'+'")
    deviation_history = _history_insert(
        ProtocolDeviation, "deviations", "'Drafted automatically'"
    ).replace("%(type)s", "'+'")
    return f"""
        WITH changed AS (
            UPDATE visits_visit AS v SET status = 'missed', flagged_at = v.window_closes_at
            FROM trials_participant AS p
            WHERE p.id = v.participant_id AND p.status IN ({active})
                AND v.status IN {OPEN} AND v.window_closes_at <= %(now)s
                AND (v.flag_deferred_until IS NULL OR v.flag_deferred_until <= %(now)s)
                AND v.id IN ({SAMPLE_SQL})
            RETURNING v.*
        ), visit_history AS ({visit_history}),
        required AS (
            SELECT c.*, p.trial_id, p.site_id, {window} AS window_text, {first} AS first_day,
                {last} AS last_day_text,
                (c.window_closes_at AT TIME ZONE s.time_zone)::date - 1 AS last_day
            FROM changed AS c
            JOIN trials_participant AS p ON p.id = c.participant_id
            JOIN trials_site AS s ON s.id = p.site_id
            WHERE NOT c.optional
        ), alerts AS (
            INSERT INTO alerts_alert (trial_id, site_id, participant_id, visit_id, kind,
                source_key, occurred_at, created_at, message, message_template, message_params,
                status, resolution, emailed_at)
            SELECT trial_id, site_id, participant_id, id, 'visit_missed',
                'visit_missed:' || id, flagged_at, %(now)s,
                'Visit ' || code || ' (' || name || ') was not done within its window ('
                    || window_text || ').',
                'Visit %%(code)s (%%(name)s) was not done within its window (%%(first)s to '
                    || '%%(last)s).',
                jsonb_build_object('code', code, 'name', jsonb_build_object('protocol', 'visits',
                    'code', code, 'text', name), 'first', first_day, 'last', last_day_text),
                'open', '', %(now)s
            FROM required
            ON CONFLICT DO NOTHING
            RETURNING *
        ), alert_history AS ({alert_history}),
        deviations AS (
            INSERT INTO assessments_protocoldeviation (participant_id, visit_id,
                protocol_version_id, entry_status, not_done_reason, row_version, warnings,
                entered_at, updated_at, occurred_on, category, description, severity, origin,
                state, source_key, resolution_note)
            SELECT participant_id, id, protocol_version_id, 'entered', '', 1, '[]',
                %(now)s, %(now)s, last_day, 'missed_visit',
                'Visit ' || code || ' (' || name || ') was not done within its window ('
                    || window_text || ').',
                '', 'automatic', 'draft', 'missed_visit:' || id, ''
            FROM required
            ON CONFLICT DO NOTHING
            RETURNING *
        )
        {deviation_history}
    """


def measure(*, now: datetime, batch: int, budget: float, explain: bool) -> dict[str, Any]:
    fingerprint = job_fingerprint()  # before the job's modules are imported
    import django

    django.setup()
    from django.db import connection

    from accounts.services import system_actor
    from flagging.visits import REASONS, visits_flag_all

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM visits_visit WHERE status IN {OPEN} AND window_closes_at <= %s",
            [now],
        )
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM visits_visit WHERE NOT optional")
        required = cursor.fetchone()[0]
    _vacuum("visits_visit", "trials_participant")
    # Warm the cache with one read of the table, so the first timed statement is not the cold one.
    _timed_rollback("SELECT sum(length(forms::text)) FROM visits_visit", [])

    baseline_runs = []
    for run in range(1, BASELINE_RUNS + 1):
        log(f"baseline: one UPDATE of {rows} visits (rolled back), run {run} of {BASELINE_RUNS}")
        seconds, updated = _timed_rollback(BASELINE_SQL, [now])
        assert updated == rows, (updated, rows)
        baseline_runs.append(seconds)
        _vacuum("visits_visit")
    # The fastest run: other work on the shared machine only ever slows the UPDATE down, and
    # the job is compared with the UPDATE at its best.
    baseline = min(baseline_runs)
    log("baseline: the UPDATE with history rows, as one statement (rolled back)")
    actor = system_actor()
    with_history, _ = _timed_rollback(
        _history_baseline_sql(),
        {"now": now, "reason": REASONS["missed"], "actor": actor.pk},
    )
    _vacuum("visits_visit", "visits_historicalvisit")
    log(
        "reference: every write of the job (no e-mail) as one statement, without and with "
        "its foreign-key checks (rolled back)"
    )
    sample = min(rows, REFERENCE_ROWS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM visits_visit WHERE NOT optional AND id IN ({SAMPLE_SQL})",
            {"now": now, "sample": sample},
        )
        sample_required = cursor.fetchone()[0]
    references = {}
    for checks in (False, True):
        references[checks], written = _timed_rollback(
            _all_writes_sql(),
            {
                "now": now,
                "sample": sample,
                "visit_reason": REASONS["missed"],
                "actor": actor.pk,
            },
            checks=checks,
        )
        assert written == sample_required, (written, sample_required)  # a deviation each
        # The rolled-back row versions are dead weight the job would not meet in production.
        _vacuum(*WRITTEN)
    all_writes, all_writes_checked = references[False], references[True]

    log(f"job: visits_flag_all(now=..., limit={batch}) on {rows} visits")
    recorder = Recorder(explain=explain)
    with connection.execute_wrapper(recorder), _phases(recorder, rows, budget) as times:
        started = time.perf_counter()
        result = visits_flag_all(now=now, limit=batch, budget_seconds=budget or float("inf"))
        job = time.perf_counter() - started - recorder.overhead_total
    phase = {name: times[name][1] - recorder.overhead[name] for _, name in PHASES}
    steps = int(times["visits_flag_step"][0])
    batches = steps - 1 if result.changed == rows else steps  # the last step finds nothing
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_alert")
        alerts = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM assessments_protocoldeviation")
        deviations = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM visits_visit WHERE status = 'missed'")
        missed = cursor.fetchone()[0]
    breakdown = {
        "claim the batch (select, lock)": phase["_claim"],
        "status compare-and-set with history": phase["_compare_and_set"],
        "alerts and their history": phase["alerts_raise_from"] - phase["_messages"],
        "alert e-mails: recipients, texts": phase["_messages"],
        "deviations and their history": phase["deviations_draft_from"],
        "commit (deferred foreign-key checks)": phase["visits_flag_step"]
        - phase["_claim"]
        - phase["_apply"]
        - phase["_send"],
        "alert e-mails: sending, after commit": phase["_send"],
        "rest of the step (Python)": phase["_apply"]
        - phase["_compare_and_set"]
        - phase["alerts_raise_from"]
        - phase["deviations_draft_from"],
        "alerts_email_pending (catch-up)": phase["alerts_email_pending"],
        "heartbeat, system actor, loop": job
        - phase["visits_flag_step"]
        - phase["alerts_email_pending"],
    }
    flagging_only = (
        breakdown["claim the batch (select, lock)"]
        + breakdown["status compare-and-set with history"]
    )
    flagged = len(result.missed)
    # A run cut short by the budget is compared per visit: the UPDATE did all `rows`.
    share = flagged / max(rows, 1)
    loop_queries = sum(
        count for name, (count, _) in recorder.by_phase.items() if name != "alerts_email_pending"
    )
    return {
        "job_sources": fingerprint,
        "rows": rows,
        "required": required,
        "batch": batch,
        "budget": budget,
        "complete": flagged == rows,
        "baseline_seconds": baseline,
        "baseline_runs": baseline_runs,
        "baseline_history_seconds": with_history,
        "all_writes_sql_seconds": all_writes,
        "all_writes_sql_rows": sample,
        "all_writes_sql_ratio": all_writes / sample / (baseline / rows),
        "all_writes_checked_sql_seconds": all_writes_checked,
        "all_writes_checked_sql_ratio": all_writes_checked / sample / (baseline / rows),
        "job_seconds": job,
        "job_projected_seconds": job / max(share, 1e-9),
        "ratio": job / max(share, 1e-9) / baseline,
        "flagging_only_seconds": flagging_only,
        "flagging_only_ratio": flagging_only / max(share, 1e-9) / baseline,
        "flagging_only_vs_history_ratio": flagging_only / max(share, 1e-9) / with_history,
        "missed": missed,
        "flagged_by_job": flagged,
        "deferred": len(result.deferred),
        "alerts": alerts,
        "deviations": deviations,
        "batches": batches,
        "email_calls": int(times["alerts_email_pending"][0]),
        "email_sends": int(times["_send"][0]),
        "queries": recorder.count,
        "queries_per_batch": recorder.count / max(batches, 1),
        "queries_per_1000_visits": recorder.count * 1000 / max(flagged, 1),
        "loop_queries_per_batch": loop_queries / max(batches, 1),
        "email_queries_per_1000_alerts": recorder.by_phase["alerts_email_pending"][0]
        * 1000
        / max(alerts, 1),
        "phases": breakdown,
        "queries_by_phase": {k: [int(v[0]), v[1]] for k, v in recorder.by_phase.items()},
        "statements": {k: [int(v[0]), v[1]] for k, v in recorder.by_statement.items()},
        "plans": list(recorder.plans.values()),
        "explain_seconds_excluded": recorder.overhead_total,
    }


def main(argv: list[str] | None = None) -> None:
    """The measuring process (`python -m bench.visit_flagging`), run by `python -m bench`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--now", required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--budget", type=float, default=0.0)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args(argv)
    result = measure(
        now=datetime.fromisoformat(args.now),
        batch=args.batch,
        budget=args.budget,
        explain=args.explain,
    )
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- the report --------------------------------------------------------------------------------


def report(results: list[dict[str, Any]], info: dict[str, Any], *, explain: bool) -> str:
    lines = [
        f"machine: {info['cpus']} CPUs, PostgreSQL {info['postgresql']}, Python {info['python']} "
        f"(shared_buffers {info.get('shared_buffers')}, work_mem {info.get('work_mem')}, "
        f"synchronous_commit {info.get('synchronous_commit')})",
        "",
        "| visits | flagged by the job | UPDATE s | job s | ratio | flagging-only ratio "
        "| UPDATE+history ratio | all writes in SQL ratio | queries | batches "
        "| queries/batch (loop) | e-mail queries/1000 alerts |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        flagged = f"{r['flagged_by_job']:,}" + ("" if r["complete"] else " (budget)")
        lines.append(
            f"| {r['rows']:,} | {flagged} | {r['baseline_seconds']:.2f} | {r['job_seconds']:.1f} "
            f"| {r['ratio']:.0f}x | {r['flagging_only_ratio']:.0f}x "
            f"| {r['baseline_history_seconds'] / r['baseline_seconds']:.2f}x "
            f"| {r['all_writes_sql_ratio']:.2f}x | {r['queries']:,} | {r['batches']} "
            f"| {r['loop_queries_per_batch']:.1f} | {r['email_queries_per_1000_alerts']:.0f} |"
        )
    lines += [
        "",
        "ratio: job time over UPDATE time, per visit when the budget cut the job short "
        "(job seconds x visits / flagged, over UPDATE seconds); the all-writes reference is "
        f"per visit too when it ran on the first {REFERENCE_ROWS:,} visits only.",
    ]
    for r in results:
        over = r["ratio"] / TARGET_RATIO
        verdict = (
            f"target {TARGET_RATIO}x met ({r['ratio']:.2f}x)"
            if r["ratio"] <= TARGET_RATIO
            else f"target {TARGET_RATIO}x missed: {r['ratio']:.0f}x, {over:.0f} times the target"
        )
        scope = "all" if r["complete"] else f"cut short by the budget of {r['budget']:.0f} s"
        lines += [
            "",
            f"## {r['rows']:,} visits, batch {r['batch']}: {verdict}",
            f"job flagged {r['flagged_by_job']:,} of {r['rows']:,} visits "
            f"({scope}) in "
            f"{r['job_seconds']:.1f} s ({r['job_projected_seconds']:.0f} s for all, at that "
            f"rate); {r['alerts']:,} alerts, {r['deviations']:,} deviations, "
            f"{r['email_calls']} e-mail calls, deferred {r['deferred']}; "
            f"UPDATE {r['baseline_seconds']:.2f} s, UPDATE+history "
            f"{r['baseline_history_seconds']:.2f} s, all writes in SQL "
            f"{r['all_writes_sql_seconds']:.2f} s (on the first "
            f"{r.get('all_writes_sql_rows', r['rows']):,} visits); data generated in "
            f"{r.get('generate_seconds', 0):.1f} s",
            f"job code fingerprint {r.get('job_sources', '?')} "
            f"(sha256 of {', '.join(JOB_SOURCES)}); load average before and after the run: "
            + " and ".join(f"{load:.1f}" for load in r.get("load_average", [])),
            "",
            "| phase | seconds | share | ms per 1000 visits |",
            "|---|---:|---:|---:|",
        ]
        for name, seconds in r["phases"].items():
            lines.append(
                f"| {name} | {seconds:.2f} | {seconds / r['job_seconds']:.0%} "
                f"| {seconds * 1e6 / max(r['flagged_by_job'], 1):.0f} |"
            )
        lines += ["", "| queries issued in | count | SQL seconds |", "|---|---:|---:|"]
        for name, (count, seconds) in sorted(r["queries_by_phase"].items(), key=lambda i: -i[1][0]):
            lines.append(f"| {name} | {count:,} | {seconds:.2f} |")
        lines += ["", "| statement | count | SQL seconds |", "|---|---:|---:|"]
        for name, (count, seconds) in sorted(r["statements"].items(), key=lambda i: -i[1][1]):
            lines.append(f"| {name} | {count:,} | {seconds:.2f} |")
        if explain:
            for plan in r["plans"]:
                lines += ["", f"EXPLAIN ANALYZE ({plan['phase']}): {plan['sql']}", plan["plan"]]
    return "\n".join(lines)


def run(
    *, sizes: list[int], batch: int, budget: float, explain: bool, pg_url: str, as_json: bool
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    info = machine(pg_url)
    results = []
    for visits in sizes:
        started = time.perf_counter()
        results.append(
            run_size(
                visits=visits, batch=batch, budget=budget, explain=explain, pg_url=pg_url, now=now
            )
        )
        log(f"{visits} visits: run took {time.perf_counter() - started:.0f} s")
    if as_json:
        print(json.dumps({"machine": info, "results": results}, indent=2))
    else:
        print(report(results, info, explain=explain))


if __name__ == "__main__":
    main()

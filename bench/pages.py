"""Every page and API list timed as three roles, and a CRF save against a bare endpoint."""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.export_csv import _measure, synthetic_database
from bench.visit_flagging import RESULT_PREFIX, ROOT, TRIAL, _manage, log

ROLES = ("coordinator", "monitor", "data_manager", "statistician")
# The save the load generator repeats, and the bare endpoint it is compared with.
SAVE_TARGET = 0.5
BARE_PATH = "/api/v1/me/"
# The floor of an audited save (bench.floor), served beside the site by the same gunicorn.
FLOOR_SETTINGS = "bench.floor_settings"
KINDS = ("bare", "save", "floor")


def _pages(participant: int, record: int, sledai: int | None) -> list[tuple[str, str]]:
    """(label, path) of every page and API list measured; `participant` is one on-study
    participant of the coordinator's and the monitor's site, `record` one of its vital signs,
    `sledai` one of its SLEDAI-2K assessments."""
    p = participant
    sledai_pages = [("SLEDAI-2K entry", f"/casebook/{p}/sledai2k/{sledai}/")] if sledai else []
    return [
        ("home", "/"),
        ("participant list", "/trials/participants/"),
        ("participant page", f"/trials/participants/{p}/"),
        ("casebook", f"/casebook/{p}/"),
        ("SLEDAI-2K log", f"/casebook/{p}/sledai2k/"),
        *sledai_pages,
        ("vital signs entry", f"/casebook/{p}/vitals/{record}/"),
        ("trial grid", "/casebook/"),
        ("review queue", "/review/"),
        ("review queue, page 2", "/review/?to_verify_page=2&open_queries_page=2"),
        ("audit trail", f"/review/participants/{p}/audit-trail/"),
        ("alerts", "/alerts/"),
        ("SAE clocks", "/safety/clock/"),
        ("exports list", "/exports/"),
        ("API me (bare)", BARE_PATH),
        ("API participants", f"/api/v1/trials/{TRIAL}/participants/"),
        ("API visits", f"/api/v1/participants/{p}/visits/"),
        ("API casebook", f"/api/v1/participants/{p}/casebook/"),
        ("API SLEDAI-2K records", f"/api/v1/participants/{p}/forms/sledai2k/"),
        ("API vital signs records", f"/api/v1/participants/{p}/forms/vitals/"),
        ("API laboratory records", f"/api/v1/participants/{p}/forms/labs/"),
        ("API alerts", "/api/v1/alerts/"),
        ("API queries", "/api/v1/queries/"),
        ("API SAE clocks", f"/api/v1/trials/{TRIAL}/sae-clock/"),
        ("API review queue", f"/api/v1/trials/{TRIAL}/review-queue/"),
        ("API review queue: to verify", f"/api/v1/trials/{TRIAL}/review-queue/to-verify/"),
        ("API review queue: open queries", f"/api/v1/trials/{TRIAL}/review-queue/open-queries/"),
        ("API audit trail", f"/api/v1/participants/{p}/audit-trail/"),
        ("API locks", "/api/v1/locks/"),
        ("API exports", "/api/v1/exports/"),
    ]


# --- inside the measuring process (Django set up, DEBUG off) ----------------------------------


def _setup() -> None:
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    # Adds `testserver` to ALLOWED_HOSTS and keeps DEBUG as the environment set it (off).
    setup_test_environment(debug=False)


def _subjects() -> dict[str, Any]:
    """The synthetic staff of the busiest site and one of its on-study participants with the
    most vital signs: the participant every participant page is measured on."""
    from django.db.models import Count

    from assessments.models import VitalSigns
    from demo.synthetic.staff import username
    from trials.models import Participant, Site, Trial

    trial = Trial.objects.get(code=TRIAL)
    busiest = (
        Participant.objects.filter(trial=trial)
        .values("site")
        .annotate(n=Count("pk"))
        .order_by("-n", "site")
        .first()
    )
    assert busiest is not None, "no participants generated"
    site = Site.objects.get(pk=busiest["site"])
    ranked = (
        VitalSigns.objects.filter(participant__site=site, entry_status="entered")
        .values("participant")
        .annotate(n=Count("pk"))
        .order_by("-n", "participant")
    )
    participants = [row["participant"] for row in ranked]
    records = {
        row["participant"]: row["pk"]
        for row in VitalSigns.objects.filter(participant__in=participants, entry_status="entered")
        .order_by("participant", "pk")
        .values("participant", "pk")
    }
    statistician = _statistician(trial)
    return {
        "site": site.code,
        "site_participants": busiest["n"],
        "participants": participants,
        "records": records,
        "users": {
            "coordinator": username(trial, "coordinator", site),
            "monitor": username(trial, "monitor", site),
            "data_manager": username(trial, "data_manager"),
            "statistician": statistician,
        },
    }


def _statistician(trial: Any) -> str:
    """The synthetic staff has no blinded statistician: one is added, as an administrator
    would grant the role."""
    from accounts.models import User
    from accounts.services import system_actor
    from demo.synthetic.staff import username
    from ecrf.access import Role
    from ecrf.audit import audited_save
    from trials.access import user_roles
    from trials.services import membership_grant

    name = username(trial, Role.STATISTICIAN)
    user = User.objects.filter(username=name).first()
    if user is None:
        user = User(username=name, printed_name="Synthetic Statistician", email="")
        user.set_unusable_password()
        audited_save(user, actor=system_actor(), reason="Synthetic staff account")
    if Role.STATISTICIAN not in user_roles(user, trial):
        membership_grant(actor=system_actor(), user=user, trial=trial, role=Role.STATISTICIAN)
    return name


@contextmanager
def _counting() -> Any:
    from django.db import connection

    counted = [0]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        counted[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counted


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure_pages(*, runs: int, budget: float, only: str = "") -> dict[str, Any]:
    """Each page as each role: status, statements of the last run, median and p95 seconds.
    `only`: texts separated by commas; only the pages whose label contains one are measured."""
    _setup()
    from django.test import Client

    from accounts.models import User
    from assessments.models import SledaiAssessment

    subjects = _subjects()
    participant = subjects["participants"][0]
    sledai = (
        SledaiAssessment.objects.filter(participant=participant, entry_status="entered")
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    pages = _pages(participant, subjects["records"][participant], sledai)
    wanted = [text.strip() for text in only.split(",") if text.strip()]
    if wanted:
        pages = [(label, path) for label, path in pages if any(w in label for w in wanted)]
    rows: list[dict[str, Any]] = []
    for role in ROLES:
        # A page that fails shows its status in the table instead of stopping the run.
        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(username=subjects["users"][role]))
        for label, path in pages:
            # Warm: templates, the protocol definition, the session. A page slower than the
            # budget is not requested again: its warm request is its one run.
            with _counting() as counted:
                before = time.perf_counter()
                response = client.get(path)
                warm = time.perf_counter() - before
            seconds: list[float] = [warm] if warm > budget else []
            queries, status = counted[0], response.status_code
            started = time.perf_counter()
            while len(seconds) < runs and (not seconds or time.perf_counter() - started < budget):
                with _counting() as counted:
                    before = time.perf_counter()
                    response = client.get(path)
                    seconds.append(time.perf_counter() - before)
                queries, status = counted[0], response.status_code
            rows.append(
                {
                    "role": role,
                    "page": label,
                    "path": path,
                    "status": status,
                    "queries": queries,
                    "runs": len(seconds),
                    "median": statistics.median(seconds),
                    "p95": _percentile(seconds, 0.95),
                }
            )
            log(f"  {role:<13} {label:<32} {status} {queries:>4} q {rows[-1]['median']:.3f} s")
    return {"subjects": subjects, "pages": rows}


def prepare_save(*, threads: int) -> dict[str, Any]:
    """A token for the coordinator of the measured site, and one vital signs record per load
    thread, each of another participant, with the version the thread starts from."""
    _setup()
    import secrets

    from django.utils import timezone

    from accounts.models import User
    from accounts.services import token_create
    from assessments.models import VitalSigns

    subjects = _subjects()
    user = User.objects.get(username=subjects["users"]["coordinator"])
    password = secrets.token_urlsafe(16)
    user.set_password(password)
    user.save(update_fields=["password"])
    _, key = token_create(user=user, name="bench", password=password, now=timezone.now())
    chosen = subjects["participants"][:threads]
    if len(chosen) < threads:
        raise RuntimeError(f"Only {len(chosen)} participants with vital signs at the site.")
    records = VitalSigns.objects.in_bulk([subjects["records"][p] for p in chosen])
    targets = [
        {"participant": p, "record": subjects["records"][p]}
        | {"version": records[subjects["records"][p]].row_version}
        for p in chosen
    ]
    return {"token": key, "targets": targets, "site": subjects["site"]}


def save_queries(*, target: dict[str, Any]) -> dict[str, Any]:
    """The statements of one save, of one floor save and of one bare request through the test
    client, as the load generator sends them (token, no session)."""
    _setup()
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {target['token']}")
    counts = {}
    version = target["version"]
    for name in KINDS:
        for _ in range(2):  # the second is counted
            with _counting() as counted:
                response = _request(client, name, target, version, 0)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {response.status_code} {response.content[:300]!r}")
            if name != "bare":
                version = response.json()["row_version"]
            counts[name] = counted[0]
    return {"queries": counts, "version": version}


def _request(client: Any, kind: str, target: dict[str, Any], version: int, turn: int) -> Any:
    """One request of `kind` through Django's test client."""
    if kind == "bare":
        return client.get(BARE_PATH)
    return client.put(
        _save_path(target) if kind == "save" else _floor_path(target),
        json.dumps(_save_body(version, turn)),
        content_type="application/json",
    )


def save_profile(*, target: dict[str, Any], count: int) -> dict[str, Any]:
    """`count` requests of each kind through the test client, after three warm ones, then
    `count` more under cProfile: the time of each without the profiler, and the functions
    where each spends its time under it."""
    _setup()
    import cProfile
    import io
    import pstats

    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {target['token']}")
    version = target["version"]
    result: dict[str, Any] = {"count": count}
    for kind in KINDS:
        for turn in range(3):
            response = _request(client, kind, target, version, turn)
            if kind != "bare":
                version = response.json()["row_version"]
        profiler = cProfile.Profile()
        for profiled in (False, True):
            before = time.perf_counter()
            if profiled:
                profiler.enable()
            for turn in range(count):
                response = _request(client, kind, target, version, turn)
                if response.status_code != 200:
                    raise RuntimeError(f"{kind}: {response.status_code} {response.content[:300]!r}")
                if kind != "bare":
                    version = response.json()["row_version"]
            profiler.disable()
            if not profiled:
                result[f"{kind}_ms"] = (time.perf_counter() - before) / count * 1000
        stats = pstats.Stats(profiler)
        result[f"{kind}_functions"] = _profile_rows(stats, count)
        if kind == "save":
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
            result["save_profile"] = text.getvalue()
    result["version"] = version
    return result


# Where a request's time goes: (label, file name ending, function name), cumulative time.
PROFILED: tuple[tuple[str, str, str], ...] = (
    ("whole request (test client)", "django/test/client.py", "request"),
    ("middleware before the view", "django/core/handlers/base.py", "_get_response"),
    ("token authentication", "accounts/authentication.py", "authenticate_credentials"),
    ("the site's zone (middleware)", "casebook/site_clock.py", "_zone_of"),
    ("participant and read access", "casebook/forms_api.py", "_readable"),
    ("the record read", "assessments/selectors.py", "form_record_get"),
    ("body validated (serializer)", "rest_framework/serializers.py", "is_valid"),
    ("form_save", "assessments/services/forms.py", "form_save"),
    ("  roles may enter", "assessments/services/forms.py", "_actor_roles"),
    ("  participant locked", "assessments/services/forms.py", "_lock_participant"),
    ("  record locked", "assessments/services/forms.py", "_locked_existing"),
    ("  record locked, with its review state", "assessments/services/forms.py", "_locked_record"),
    ("  locks", "review/locks.py", "require_unlocked"),
    ("  edit checks", "assessments/services/forms.py", "form_checks"),
    ("  audited_save", "ecrf/audit.py", "audited_save"),
    ("    full_clean", "ecrf/audit.py", "_full_clean"),
    ("    history row", "simple_history/models.py", "post_save"),
    ("  review marks voided", "review/services/records.py", "review_record_changed"),
    ("  automatic queries", "review/services/queries.py", "queries_from_warnings"),
    ("answer built", "casebook/forms_api.py", "_output"),
    ("arm read recorded", "casebook/reads.py", "form_shown"),
    ("floor update with history", "ecrf/bulk.py", "update_from"),
    ("SQL sent and answered", "django/db/backends/utils.py", "_execute"),
    ("SQL compiled (ORM)", "django/db/models/sql/compiler.py", "as_sql"),
)


def _profile_rows(stats: Any, count: int) -> list[dict[str, Any]]:
    """The cumulative ms per request of each function of `PROFILED`, by its outermost calls."""
    rows = []
    for label, ending, name in PROFILED:
        total = 0.0
        calls = 0
        for (filename, _, function), (_, primitive, _, _, callers) in stats.stats.items():
            if function == name and filename.endswith(ending):
                # Only calls from outside the function itself count, so recursion is not
                # counted twice.
                total += sum(
                    values[3]
                    for caller, values in callers.items()
                    if not (caller[0].endswith(ending) and caller[2] == name)
                )
                calls += primitive
        if calls:
            rows.append({"what": label, "ms": total / count * 1000, "calls": calls / count})
    return rows


def _save_path(target: dict[str, Any]) -> str:
    return f"/api/v1/participants/{target['participant']}/forms/vitals/{target['record']}/"


def _floor_path(target: dict[str, Any]) -> str:
    return f"/bench/floor/vitals/{target['record']}/"


def _save_body(version: int, turn: int) -> dict[str, Any]:
    return {
        "version": version,
        "reason": "Transcription error corrected",
        "data": {"heart_rate": 64 + turn % 20},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("mode", choices=("pages", "prepare-save", "save-queries", "save-profile"))
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--target", default="")
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    if args.mode == "pages":
        result = measure_pages(runs=args.runs, budget=args.budget, only=args.only)
    elif args.mode == "prepare-save":
        result = prepare_save(threads=args.threads)
    elif args.mode == "save-profile":
        result = save_profile(target=json.loads(args.target), count=args.count)
    else:
        result = save_queries(target=json.loads(args.target))
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


# --- the load generator, outside Django -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _gunicorn(env: dict[str, str], workers: int) -> Any:
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "ecrf.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        import requests

        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                requests.get(f"{url}/health/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _load(
    url: str, token: str, targets: list[dict[str, Any]], *, kind: str, seconds: float
) -> dict[str, Any]:
    """One thread per target for `seconds`: each repeats the save or the floor save of its own
    record (with the version the last answer gave), or the bare GET. Completed requests per
    second."""
    import requests

    stop = time.perf_counter() + seconds
    done: list[int] = [0] * len(targets)
    failed: list[str] = []
    latencies: list[list[float]] = [[] for _ in targets]

    def worker(index: int) -> None:
        target = targets[index]
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        turn = 0
        while time.perf_counter() < stop:
            before = time.perf_counter()
            if kind == "bare":
                response = session.get(url + BARE_PATH, timeout=60)
            else:
                path = _save_path(target) if kind == "save" else _floor_path(target)
                response = session.put(
                    url + path, json=_save_body(target["version"], turn), timeout=60
                )
            latencies[index].append(time.perf_counter() - before)
            if response.status_code != 200:
                failed.append(f"{response.status_code} {response.text[:200]}")
                return
            if kind != "bare":
                target["version"] = response.json()["row_version"]
            turn += 1
            done[index] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(len(targets))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"{kind} request failed: {failed[0]}")
    every = [value for values in latencies for value in values]
    return {
        "requests": sum(done),
        "seconds": elapsed,
        "per_second": sum(done) / elapsed,
        "median": statistics.median(every),
        "p95": _percentile(every, 0.95),
    }


# Each ratio: (name, numerator, denominator).
RATIOS = (
    ("save/bare", "save", "bare"),
    ("floor/bare", "floor", "bare"),
    ("save/floor", "save", "floor"),
)


def measure_save(
    env: dict[str, str],
    *,
    threads: int,
    seconds: float,
    rounds: int,
    workers: int,
    profile: int = 0,
) -> dict[str, Any]:
    """The save and its floor against the bare endpoint under gunicorn, in turn, `rounds`
    times each; with `profile`, that many of each through the test client under cProfile."""
    env = dict(env, DJANGO_SETTINGS_MODULE=FLOOR_SETTINGS)
    prepared = _run(env, "prepare-save", "--threads", str(threads))
    targets = prepared["targets"]
    probe = dict(targets[0], token=prepared["token"])
    counted = _run(env, "save-queries", "--target", json.dumps(probe))
    targets[0]["version"] = counted["version"]
    profiled: dict[str, Any] = {}
    if profile:
        probe["version"] = counted["version"]
        profiled = _run(env, "save-profile", "--target", json.dumps(probe), "--count", str(profile))
        targets[0]["version"] = profiled["version"]
    measured: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    with _gunicorn(env, workers) as url:
        for kind in KINDS:  # warm both workers
            _load(url, prepared["token"], targets, kind=kind, seconds=2)
        for _ in range(rounds):
            for kind in KINDS:
                measured[kind].append(
                    _load(url, prepared["token"], targets, kind=kind, seconds=seconds)
                )
            rates = {kind: measured[kind][-1]["per_second"] for kind in KINDS}
            log(
                "  "
                + ", ".join(f"{kind} {rates[kind]:.1f}/s" for kind in KINDS)
                + " ("
                + ", ".join(f"{n} {rates[t] / rates[b]:.2f}" for n, t, b in RATIOS)
                + ")"
            )
    result: dict[str, Any] = {
        "queries": counted["queries"],
        **measured,
        **{
            f"{kind}_per_second": statistics.median(r["per_second"] for r in measured[kind])
            for kind in KINDS
        },
        # Each round's ratios, of requests that met the same load (one round after another),
        # and their medians.
        "round_ratios": {
            name: [
                t["per_second"] / b["per_second"]
                for t, b in zip(measured[top], measured[bottom], strict=True)
            ]
            for name, top, bottom in RATIOS
        },
        "threads": threads,
        "workers": workers,
        "seconds": seconds,
        "profile": profiled,
    }
    result["ratios"] = {name: statistics.median(v) for name, v in result["round_ratios"].items()}
    result["ratio"] = result["ratios"]["save/bare"]
    return result


def _run(env: dict[str, str], *args: str) -> dict[str, Any]:
    return _measure(env, *args, module="bench.pages")


def run_size(
    *,
    participants: int,
    runs: int,
    budget: float,
    threads: int,
    seconds: float,
    rounds: int,
    workers: int,
    skip_pages: bool,
    skip_save: bool = False,
    page_filter: str = "",
    profile: int = 0,
    seed: int,
    pg_url: str,
    keep: bool,
) -> dict[str, Any]:
    with synthetic_database(
        "ecrf_bench_pages",
        participants=participants,
        chunk=0,
        seed=seed,
        pg_url=pg_url,
        keep=keep,
    ) as (env, _, generated):
        result: dict[str, Any] = {"participants": participants, "generated": generated}
        # The review queue's stored counts, as its periodic task would have stored them
        # within a minute of the generation (or of the upgrade of a kept database).
        _manage(env, "review_backlog_refresh")
        _analyze(pg_url, env, "casebook_reviewbacklog")
        load = [os.getloadavg()[0]]
        if not skip_pages:
            # DEBUG is off: pages name their static files through the manifest. The API
            # answers of the save's measure name none.
            _manage(env, "collectstatic", "--noinput", "-v0")
            log(f"pages: {len(ROLES)} roles, up to {runs} runs of each page")
            result |= _run(
                env, "pages", "--runs", str(runs), "--budget", str(budget), "--only", page_filter
            )
            load.append(os.getloadavg()[0])
        if not skip_save:
            log(f"save: gunicorn with {workers} workers, {threads} client threads")
            result["save"] = measure_save(
                env,
                threads=threads,
                seconds=seconds,
                rounds=rounds,
                workers=workers,
                profile=profile,
            )
            load.append(os.getloadavg()[0])
        result["load_average"] = load
        return result


def _analyze(pg_url: str, env: dict[str, str], table: str) -> None:
    import psycopg

    database = env["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(f"{pg_url.rstrip('/')}/{database}", autocommit=True) as connection:
        connection.execute(f"VACUUM (ANALYZE) {table}")


def report(results: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for result in results:
        lines.append(f"\n## {result['participants']:,} participants")
        if "pages" in result:
            subjects = result["subjects"]
            lines.append(
                f"\nSite {subjects['site']} ({subjects['site_participants']} participants); "
                f"median and p95 in ms; queries of one request.\n"
            )
            header = "| page |" + "".join(f" {role} q | median | p95 |" for role in ROLES)
            lines += [header, "|---|" + "---:|---:|---:|" * len(ROLES)]
            by_page: dict[str, dict[str, dict[str, Any]]] = {}
            for row in result["pages"]:
                by_page.setdefault(row["page"], {})[row["role"]] = row
            for page, cells in by_page.items():
                line = f"| {page} |"
                for role in ROLES:
                    cell = cells[role]
                    if cell["status"] != 200:
                        line += f" {cell['status']} | | |"
                    else:
                        line += (
                            f" {cell['queries']} | {cell['median'] * 1000:.0f} "
                            f"| {cell['p95'] * 1000:.0f} |"
                        )
                lines.append(line)
        if "save" in result:
            lines += _save_report(result["save"], result["load_average"])
        else:
            lines.append(
                "\nLoad average: " + ", ".join(f"{value:.1f}" for value in result["load_average"])
            )
    return "\n".join(lines)


def _save_report(save: dict[str, Any], load: list[float]) -> list[str]:
    lines = [
        f"\nCRF save (PUT vital signs with version and reason), its floor (bench.floor) and "
        f"GET {BARE_PATH}, gunicorn {save['workers']} workers, {save['threads']} client threads, "
        f"{len(save['save'])} rounds of {save['seconds']:.0f} s each, medians:\n",
        "| | queries | requests/s | median ms | p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in KINDS:
        middle = sorted(save[name], key=lambda r: r["per_second"])[len(save[name]) // 2]
        lines.append(
            f"| {name} | {save['queries'][name]} | {save[f'{name}_per_second']:.1f} | "
            f"{middle['median'] * 1000:.0f} | {middle['p95'] * 1000:.0f} |"
        )
    lines.append("")
    for name, _, _ in RATIOS:
        rounds = ", ".join(f"{value:.2f}x" for value in save["round_ratios"][name])
        lines.append(f"- **{name}: {save['ratios'][name]:.2f}x** (rounds: {rounds})")
    verdict = "meets" if save["ratio"] >= SAVE_TARGET else "misses"
    lines.append(
        f"\nThe save {verdict} the {SAVE_TARGET}x target. Load average: "
        + ", ".join(f"{value:.1f}" for value in load)
    )
    profile = save.get("profile")
    if profile:
        lines.append(
            f"\nThrough the test client under cProfile, {profile['count']} of each, ms per "
            "request (cumulative; a line indented is part of the one above):\n"
        )
        lines += ["| | " + " | ".join(KINDS) + " |", "|---|" + "---:|" * len(KINDS)]
        by_kind = {
            kind: {row["what"]: row["ms"] for row in profile[f"{kind}_functions"]} for kind in KINDS
        }
        for what, _, _ in PROFILED:
            cells = [by_kind[kind].get(what) for kind in KINDS]
            if any(cells):
                lines.append(
                    f"| {what} | "
                    + " | ".join("" if c is None else f"{c:.1f}" for c in cells)
                    + " |"
                )
        lines.append(
            "\nWithout the profiler: "
            + ", ".join(f"{kind} {profile[f'{kind}_ms']:.1f} ms" for kind in KINDS)
        )
    return lines


def run(*, sizes: list[int], as_json: bool, **options: Any) -> None:
    """Measure each size on its own database (`options` are those of `run_size`); print the
    report, or the raw results as JSON."""
    results = [run_size(participants=participants, **options) for participants in sizes]
    print(json.dumps(results, indent=2, default=str) if as_json else report(results))


if __name__ == "__main__":
    main()

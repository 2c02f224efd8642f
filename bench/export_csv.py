"""The full CSV export of a trial against PostgreSQL COPY of the same rows, and its peak memory."""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.visit_flagging import (
    PROTOCOL,
    RESULT_PREFIX,
    ROOT,
    TRIAL,
    _env,
    _manage,
    _server,
    log,
    machine,
)

TARGET_RATIO = 2.0
# generate_synthetic's default seed, and how often a refused call is retried with the next one.
SEED = 20240101
RETRIES = 10
# The export's code, for the fingerprint kept with each result: the tree changes between runs.
EXPORT_SOURCES = (
    "exports/snapshot.py",
    "exports/tabular.py",
    "exports/formats.py",
    "exports/services/runs.py",
    "exports/datasets/__init__.py",
    "exports/datasets/common.py",
    "exports/datasets/demography.py",
    "exports/datasets/disposition.py",
    "exports/datasets/events.py",
    "exports/datasets/exposure.py",
    "exports/datasets/findings.py",
    "exports/datasets/history.py",
    "exports/datasets/reproductive.py",
    "exports/datasets/responses.py",
    "exports/datasets/visits.py",
    "exports/datasets/vitals.py",
)


# --- the run: a fresh database per size, filled by the project's own commands -----------------


def _fingerprint() -> str:
    import hashlib

    digest = hashlib.sha256()
    for name in EXPORT_SOURCES:
        path = ROOT / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _generate(
    env: dict[str, str], participants: int, chunk: int, seed: int
) -> list[dict[str, Any]]:
    """`generate_synthetic --mode bulk` in calls of at most `chunk` participants: each call's
    participants, seed and time. A call the generator refuses (it validates every form it
    writes) is retried with the next seed, up to RETRIES times; each retry is logged."""
    calls: list[dict[str, Any]] = []
    done = 0
    while done < participants:
        count = min(chunk or participants, participants - done)
        for attempt in range(RETRIES + 1):
            args = ["generate_synthetic", "--trial", TRIAL, "--participants", str(count)]
            args += ["--mode", "bulk", "--seed", str(seed + attempt)]
            args += ["--append"] if done else []
            log(
                f"generate_synthetic: participants {done + 1} to {done + count}, "
                f"seed {seed + attempt}"
            )
            try:
                seconds = _manage(env, *args)
            except subprocess.CalledProcessError:
                if attempt == RETRIES:
                    raise
                log(
                    "generate_synthetic refused its own data (see above); "
                    "retrying with the next seed"
                )
                continue
            calls.append({"participants": count, "seed": seed + attempt, "seconds": seconds})
            break
        done += count
    return calls


def _measure(env: dict[str, str], *args: str, module: str = "bench.export_csv") -> dict[str, Any]:
    """Run one measuring process (`python -m <module> MODE ...`) and read its result."""
    command = [sys.executable, "-m", module, *args]
    output = subprocess.run(
        command, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise RuntimeError(f"The measuring process {args[0]} printed no result.")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def run_size(
    *,
    participants: int,
    runs: int,
    chunk: int,
    seed: int,
    tracemalloc: bool,
    profile: bool,
    pg_url: str,
    keep: bool = False,
) -> dict[str, Any]:
    """Create, fill and measure a fresh database with `participants` participants, then drop it.
    With `keep`, the database is named after its size and seed and kept, and a kept one that
    finished generating is measured again without generating it anew."""
    with synthetic_database(
        "ecrf_bench_export",
        participants=participants,
        chunk=chunk,
        seed=seed,
        pg_url=pg_url,
        keep=keep,
    ) as (env, folder, generated):
        name = env["DATABASE_URL"].rsplit("/", 1)[1]
        seconds = sum(call["seconds"] for call in generated)
        log(f"{name}: {participants} participants generated in {seconds:.0f} s")
        as_of = datetime.now(UTC).replace(microsecond=0).isoformat()
        common = ["--as-of", as_of, "--folder", str(folder / "work")]
        load_before = os.getloadavg()[0]
        log("memory: one export in a fresh process")
        memory = _measure(env, "memory", *common)
        if tracemalloc:
            log("memory: one export under tracemalloc, in a fresh process")
            memory["tracemalloc"] = _measure(env, "memory", *common, "--tracemalloc")
        log(f"timing: COPY and the export alternately, {runs} runs each")
        result = _measure(env, "timing", *common, "--runs", str(runs))
        if profile:
            log("profile: one export under cProfile")
            result["profile"] = _measure(env, "profile", *common)
        result.update(
            participants=participants,
            as_of=as_of,
            memory=memory,
            generated=generated,
            load_average=[load_before, os.getloadavg()[0]],
        )
        return result


@contextmanager
def synthetic_database(
    prefix: str, *, participants: int, chunk: int, seed: int, pg_url: str, keep: bool
) -> Iterator[tuple[dict[str, str], Path, list[dict[str, Any]]]]:
    """A fresh database `<prefix>_<pid>` with the MSVLE protocol and `participants` synthetic
    participants: the environment of a process using it, a scratch folder, and the
    generate_synthetic calls. It is dropped afterwards, even after an error. With `keep`, it
    is named `<prefix>_<participants>_<seed>` and kept, and a kept one that finished
    generating is used again without generating it anew."""
    name = f"{prefix}_{participants}_{seed}" if keep else f"{prefix}_{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}_"))
    env = _env(f"{pg_url.rstrip('/')}/{name}")
    env.update(ECRF_VAR_DIR=str(folder / "var"), EXPORTS_DIR=str(folder / "exports"))
    with _server(pg_url) as server:
        generated = _kept(server, name) if keep else None
        if generated is None:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.execute(f'CREATE DATABASE "{name}"')
    try:
        if generated is None:
            log(f"{name}: migrate, load_protocol")
            _manage(env, "migrate", "--noinput", "-v0")
            _manage(env, "load_protocol", PROTOCOL)
            generated = _generate(env, participants, chunk, seed)
            if keep:
                with _server(pg_url) as server:
                    comment = json.dumps(generated).replace("'", "''")
                    server.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
        else:
            # Migrations that came after the generation are applied, as an upgrade would.
            log(f"{name}: kept from an earlier run, not generated again; migrate")
            _manage(env, "migrate", "--noinput", "-v0")
        _vacuum(pg_url, name)
        yield env, folder, generated
    finally:
        if not keep:
            with _server(pg_url) as server:
                server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f"{name}: dropped")
        shutil.rmtree(folder, ignore_errors=True)


def _vacuum(pg_url: str, name: str) -> None:
    """`VACUUM (ANALYZE)` the generated database, as autovacuum would have done on a server
    that runs it: without it the planner has no statistics for the new rows and every index
    still holds the entries of the rows the generation rewrote (on a server with autovacuum
    off, a 5,000-participant home page took 1.1 s instead of 0.36 s)."""
    import psycopg

    log(f"{name}: VACUUM (ANALYZE)")
    with psycopg.connect(f"{pg_url.rstrip('/')}/{name}", autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")


def _kept(server: Any, name: str) -> list[dict[str, Any]] | None:
    """The generate_synthetic calls of a kept database, from its comment; None when there is
    no such database or its generation did not finish (the comment is written last)."""
    row = server.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (name,),
    ).fetchone()
    if row is None or not row[0]:
        return None
    calls: list[dict[str, Any]] = json.loads(row[0])
    return calls


# --- the baseline: one hand-written SELECT per dataset, over the live or the as-of rows ---------

Table = Callable[[type[Any]], str]


def live_table(model: type[Any]) -> str:
    return str(model._meta.db_table)


def as_of_table(model: type[Any]) -> str:
    """The rows of `model` as of %(as_of)s, rebuilt from its history table in one pass."""
    history = model.history.model._meta.db_table
    pk = model._meta.pk.column
    return (
        f"(SELECT * FROM (SELECT DISTINCT ON ({pk}) * FROM {history} "
        f"WHERE history_date <= %(as_of)s ORDER BY {pk}, history_date DESC, history_id DESC) "
        "AS latest WHERE history_type <> '-')"
    )


def dataset_sql(table: Table) -> dict[str, str]:
    """For each dataset of a blinded export, one SELECT of the same rows: the source rows the
    dataset reads, the columns it needs, joined to participant, site and visit as it does, in
    its order. What it does not do: see bench/README.md."""
    from assessments.models import (
        ConcomitantMedication,
        Infusion,
        LabResults,
        MedicalHistory,
        PregnancyTest,
        ProtocolDeviation,
        RenalAssessment,
        SledaiAssessment,
        VitalSigns,
    )
    from assessments.models.labs import (
        ANALYTES,
        SEROLOGY_FIELDS,
        flag_field,
        lln_field,
        uln_field,
        unit_field,
    )
    from assessments.models.sledai import item_field
    from assessments.scoring.sledai_descriptors import DESCRIPTORS
    from exports.datasets.disposition import ENDINGS
    from exports.datasets.events import CAUSALITY
    from exports.datasets.findings import (
        ANA,
        HLA_AB,
        HLA_MFI,
        LAB_TESTS,
        LABS_ALL,
        RENAL_LINK,
        SEROLOGY_TESTS,
        TB_TESTS,
    )
    from exports.datasets.history import TERMS
    from exports.datasets.reproductive import CHILDPOT, HCG, HCG_SPECIMENS
    from exports.datasets.vitals import VITALS, VITALS_ALL
    from safety.models import AdverseEvent
    from trials.models import Consent, EligibilityAnswer, Participant, Site
    from visits.models import Visit

    p, s, v = table(Participant), table(Site), table(Visit)
    usubjid = "%(code)s || '-' || COALESCE(NULLIF(p.subject_id, ''), p.screening_number)"

    def head(domain: str) -> str:
        return f"%(code)s AS studyid, '{domain}' AS domain, {usubjid} AS usubjid"

    def of(model: type[Any], *, visit: bool = False) -> str:
        """FROM a record table with its participant (of the trial) and site, and its visit."""
        sql = (
            f"FROM {table(model)} AS x JOIN {p} AS p ON p.id = x.participant_id "
            f"JOIN {s} AS s ON s.id = p.site_id "
        )
        return sql + (f"LEFT JOIN {v} AS v ON v.id = x.visit_id " if visit else "")

    entered = "p.trial_id = %(trial)s AND x.entry_status = 'entered'"
    # A form recorded as not done gives the rows marked `nd` (the tests it stands for, with
    # the reason), an entered one the rows with a value.
    filled_or_not_done = (
        "p.trial_id = %(trial)s AND CASE WHEN x.entry_status = 'entered' "
        "THEN r.orres IS NOT NULL ELSE r.nd END"
    )
    subjects = f"FROM {p} AS p JOIN {s} AS s ON s.id = p.site_id"
    endings = ", ".join(f"('{status}', '{decod}')" for status, decod in ENDINGS.items())
    labs = [
        f"('{LAB_TESTS[a.code].code}', x.{a.code}_value::text, x.{unit_field(a.code)}, "
        f"x.{lln_field(a.code)}, x.{uln_field(a.code)}, x.{flag_field(a.code)}"
        for a in ANALYTES
    ]
    # The qualitative results; HLADSA is left out, as the blinded export leaves it out
    # (labs.anti_hla_dsa reveals the allocation in MSVLE).
    tb = " ".join(f"WHEN '{method}' THEN '{test.code}'" for method, test in TB_TESTS.items())
    labs += [
        f"('{ANA.code}', CASE WHEN x.ana_result = 'negative' THEN 'NEGATIVE' "
        "WHEN x.ana_result <> '' THEN '1:' || x.ana_titre END, NULL, NULL, NULL, NULL",
        *(
            f"('{SEROLOGY_TESTS[name].code}', upper(NULLIF(x.{name}, '')), NULL, NULL, NULL, NULL"
            for name, _ in SEROLOGY_FIELDS
        ),
        f"(CASE x.tb_method {tb} END, CASE WHEN x.tb_method <> '' "
        "THEN upper(NULLIF(x.tb_result, '')) END, NULL, NULL, NULL, NULL",
        f"('{HLA_AB.code}', upper(NULLIF(x.anti_hla_result, '')), NULL, NULL, NULL, NULL",
        f"('{HLA_MFI.code}', x.anti_hla_mfi::text, 'MFI', NULL, NULL, NULL",
    ]
    labs_values = ", ".join(f"{row}, false, {n})" for n, row in enumerate(labs))
    labs_values += f", ('{LABS_ALL.code}', NULL, NULL, NULL, NULL, NULL, true, {len(labs)})"
    hcg = ", ".join(f"'{specimen}'" for specimen in HCG_SPECIMENS)
    vitals = ", ".join(
        f"('{test.code}', x.{field}::text, '{unit}', false, {n})"
        for n, (field, test, unit) in enumerate(VITALS)
    )
    vitals += f", ('{VITALS_ALL.code}', NULL, NULL, true, -1)"
    sledai = ", ".join(
        f"('{d.code}', CASE WHEN x.{item_field(d.code)} THEN 'Y' ELSE 'N' END, true, false, {n})"
        for n, d in enumerate(DESCRIPTORS)
    )
    n = len(DESCRIPTORS)
    sledai += f", ('SLDAITOT', x.total::text, false, true, {n}), "
    sledai += f"('SLDAICLN', x.clinical_total::text, false, false, {n + 1})"
    history = ", ".join(f"('{term}', {n})" for n, (term, _) in enumerate(TERMS))
    causality = ", ".join(f"'{code}'" for code in CAUSALITY)
    return {
        "DM": f"""
            SELECT {head("DM")}, COALESCE(NULLIF(p.subject_id, ''), p.screening_number) AS subjid,
                p.day0, i.first_start, i.last_stop, c.first_consent, p.ended_at,
                s.code AS siteid, p.date_of_birth, p.registered_at, p.sex, p.status,
                p.randomized_at, i.participant_id IS NOT NULL AS treated, s.country, s.time_zone
            {subjects}
            LEFT JOIN (SELECT participant_id, min(consent_date) AS first_consent
                FROM {table(Consent)} AS x GROUP BY participant_id) AS c ON c.participant_id = p.id
            LEFT JOIN (SELECT participant_id, min(start_time) AS first_start,
                    max(stop_time) AS last_stop
                FROM {table(Infusion)} AS x WHERE x.entry_status = 'entered' AND x.given
                GROUP BY participant_id) AS i ON i.participant_id = p.id
            WHERE p.trial_id = %(trial)s ORDER BY usubjid, p.id""",
        "DS": f"""
            SELECT * FROM (
                SELECT {head("DS")}, x.consent_date::text AS dsstdtc,
                    'INFORMED CONSENT OBTAINED, FORM VERSION ' || x.form_version AS dsterm,
                    'INFORMED CONSENT OBTAINED' AS dsdecod, 'PROTOCOL MILESTONE' AS dscat,
                    s.time_zone, p.day0
                {of(Consent)} WHERE p.trial_id = %(trial)s
                UNION ALL
                SELECT {head("DS")}, p.randomized_at::text,
                    CASE WHEN p.cohort_id IS NULL THEN 'RANDOMIZED' ELSE 'ENROLLED' END,
                    CASE WHEN p.cohort_id IS NULL THEN 'RANDOMIZED' ELSE 'ENROLLED' END,
                    'PROTOCOL MILESTONE', s.time_zone, p.day0
                {subjects} WHERE p.trial_id = %(trial)s AND p.randomized_at IS NOT NULL
                UNION ALL
                SELECT {head("DS")}, p.ended_at::text,
                    COALESCE(NULLIF(p.screen_failure_reason, ''), NULLIF(p.end_reason, ''),
                        e.decod),
                    e.decod, 'DISPOSITION EVENT', s.time_zone, p.day0
                {subjects} JOIN (VALUES {endings}) AS e(status, decod) ON e.status = p.status
                WHERE p.trial_id = %(trial)s
            ) AS ds ORDER BY usubjid, dsstdtc""",
        "SV": f"""
            SELECT {head("SV")}, x.visit_number, x.name, x.day, x.actual_date AS svstdtc,
                x.actual_date AS svendtc, x.parent_id IS NOT NULL AS unscheduled, x.reason, p.day0
            {of(Visit)} WHERE p.trial_id = %(trial)s AND ((x.status = 'completed'
                AND x.actual_date IS NOT NULL)
                OR (x.status IN ('missed', 'not_done') AND x.parent_id IS NULL))
            ORDER BY usubjid, x.visit_number""",
        "SE": f"""
            SELECT * FROM (
                SELECT {head("SE")}, 1 AS taetord, 'SCRN' AS etcd, c.first_consent::text AS start,
                    i.first_start::text AS stop, p.ended_at, s.time_zone
                {subjects}
                LEFT JOIN (SELECT participant_id, min(consent_date) AS first_consent
                    FROM {table(Consent)} AS x GROUP BY participant_id) AS c
                    ON c.participant_id = p.id
                LEFT JOIN (SELECT participant_id, min(start_time) AS first_start
                    FROM {table(Infusion)} AS x WHERE x.entry_status = 'entered' AND x.given
                    GROUP BY participant_id) AS i ON i.participant_id = p.id
                WHERE p.trial_id = %(trial)s
                UNION ALL
                SELECT {head("SE")}, 2, 'INF', i.first_start::text, NULL, p.ended_at, s.time_zone
                {subjects}
                JOIN (SELECT participant_id, min(start_time) AS first_start
                    FROM {table(Infusion)} AS x WHERE x.entry_status = 'entered' AND x.given
                    GROUP BY participant_id) AS i ON i.participant_id = p.id
                WHERE p.trial_id = %(trial)s
            ) AS se ORDER BY usubjid, taetord""",
        "EC": f"""
            SELECT {head("EC")}, 'STUDY INFUSION' AS ectrt, 'PERFORMED' AS ecmood, x.given,
                x.not_given_reason, x.volume_ml, x.interrupted, x.interruption_details,
                v.visit_number, v.name AS visit, x.start_time, x.stop_time, s.time_zone, p.day0
            {of(Infusion, visit=True)} WHERE {entered}
            ORDER BY usubjid, v.visit_number, x.id""",
        "AE": f"""
            SELECT {head("AE")}, x.verbatim_term, x.llt_name, x.llt_code, x.pt_name, x.pt_code,
                x.soc_name, x.soc_code, x.dictionary_version, x.ctcae_grade, x.serious, x.death,
                x.life_threatening, x.hospitalisation, x.disability, x.congenital_anomaly,
                x.medically_important, x.investigator_causality, x.sponsor_causality,
                x.expectedness, x.action_taken, x.outcome, x.special_interest, x.aesi_category,
                x.onset_date, x.end_date, x.ongoing, p.day0
            {of(AdverseEvent)} WHERE {entered}
            ORDER BY usubjid, x.onset_date, x.id""",
        # One record per adverse event and supplemental qualifier with a value.
        "SUPPAE": f"""
            SELECT %(code)s AS studyid, 'AE' AS rdomain, {usubjid} AS usubjid,
                'AESEQ' AS idvar, q.qnam, q.qval, x.onset_date, x.id AS record
            {of(AdverseEvent)}
            CROSS JOIN LATERAL (VALUES
                ('AEDICT', NULLIF(x.dictionary_version, '')),
                ('AESPREL', CASE WHEN x.sponsor_causality IN ({causality})
                    THEN x.sponsor_causality END),
                ('AEEXPECT', upper(NULLIF(x.expectedness, ''))),
                ('AESI', CASE x.special_interest WHEN true THEN 'Y' WHEN false THEN 'N' END),
                ('AESICAT', upper(NULLIF(x.aesi_category, '')))
            ) AS q(qnam, qval)
            WHERE {entered} AND q.qval IS NOT NULL
            ORDER BY usubjid, x.onset_date, x.id, q.qnam""",
        "CM": f"""
            SELECT {head("CM")}, x.medication, x.coded_term, x.category, x.dose, x.dose_unit,
                x.frequency, x.route, x.indication, x.dictionary_version,
                x.prednisone_equivalent_mg_day, x.is_rescue, x.start_date, x.end_date, x.ongoing,
                p.day0
            {of(ConcomitantMedication)} WHERE {entered}
            ORDER BY usubjid, x.start_date, x.medication, x.id""",
        "SUPPCM": f"""
            SELECT %(code)s AS studyid, 'CM' AS rdomain, {usubjid} AS usubjid,
                'CMSEQ' AS idvar, q.qnam, q.qval, x.start_date, x.medication, x.id AS record
            {of(ConcomitantMedication)}
            CROSS JOIN LATERAL (VALUES
                ('CMDICT', NULLIF(x.dictionary_version, '')),
                ('CMPREDEQ', x.prednisone_equivalent_mg_day::text),
                ('CMRESCUE', CASE x.is_rescue WHEN true THEN 'Y' WHEN false THEN 'N' END)
            ) AS q(qnam, qval)
            WHERE {entered} AND q.qval IS NOT NULL
            ORDER BY usubjid, x.start_date, x.medication, x.id, q.qnam""",
        # Two rows per form, one per pre-specified term; not-done forms included.
        "MH": f"""
            SELECT {head("MH")}, t.term, x.entry_status, x.not_done_reason, v.visit_number,
                v.name AS visit, v.actual_date, x.sle_diagnosis_date, p.day0
            {of(MedicalHistory, visit=True)}
            CROSS JOIN (VALUES {history}) AS t(term, n)
            WHERE p.trial_id = %(trial)s
            ORDER BY usubjid, v.visit_number, x.id, t.n""",
        "LB": f"""
            SELECT * FROM (
                SELECT {head("LB")}, r.testcd, r.orres, r.unit, r.lln::text AS lln,
                    r.uln::text AS uln, r.flag, '' AS method, x.not_done_reason AS reasnd,
                    v.visit_number, v.name AS visit, x.sample_date AS lbdtc, p.day0,
                    0 AS source, r.n, x.id AS record
                {of(LabResults, visit=True)}
                CROSS JOIN LATERAL (VALUES {labs_values})
                    AS r(testcd, orres, unit, lln, uln, flag, nd, n)
                WHERE {filled_or_not_done}
                UNION ALL
                SELECT {head("LB")}, r.testcd, r.orres, r.unit, NULL, NULL, NULL, r.method,
                    x.not_done_reason, v.visit_number, v.name, x.assessment_date, p.day0, 1,
                    r.n, x.id
                {of(RenalAssessment, visit=True)}
                CROSS JOIN LATERAL (VALUES
                    ('PROTCRT', x.upcr_value::text, x.upcr_unit, x.specimen_type, true, 0),
                    ('CREAT', x.serum_creatinine_value::text, x.creatinine_unit, '', true, 1),
                    ('RBC', x.urine_rbc_hpf::text, '/HPF', '', true, 2),
                    ('WBC', x.urine_wbc_hpf::text, '/HPF', '', true, 3),
                    ('RBCCAST', x.rbc_casts::text, '', '', true, 4),
                    ('CELLCAST', x.cellular_casts::text, '', '', true, 5),
                    ('EGFR', x.egfr::text, 'mL/min/1.73m2',
                        x.egfr_equation || ' ' || x.egfr_version, false, 6)
                ) AS r(testcd, orres, unit, method, nd, n)
                WHERE {filled_or_not_done}
                UNION ALL
                SELECT {head("LB")}, '{HCG[0]}', upper(x.result), NULL, NULL, NULL, NULL,
                    x.test_type, x.not_done_reason, v.visit_number, v.name, x.test_date, p.day0,
                    2, 0, x.id
                {of(PregnancyTest, visit=True)}
                WHERE p.trial_id = %(trial)s AND (x.entry_status <> 'entered'
                    OR (x.result <> '' AND x.test_type IN ({hcg})))
            ) AS lb ORDER BY usubjid, visit_number, lbdtc, source, n, record""",
        "VS": f"""
            SELECT {head("VS")}, r.testcd, r.orres, r.unit, x.not_done_reason AS reasnd,
                v.visit_number, v.name AS visit, x.timepoint, x.measured_at, s.time_zone, p.day0
            {of(VitalSigns, visit=True)}
            CROSS JOIN LATERAL (VALUES {vitals}) AS r(testcd, orres, unit, nd, n)
            WHERE {filled_or_not_done}
            ORDER BY usubjid, v.visit_number, x.measured_at, r.n, x.id""",
        "RS": f"""
            SELECT * FROM (
                SELECT {head("RS")}, 'SLEDAI-2K' AS rscat, r.testcd, r.orres,
                    CASE WHEN r.always THEN COALESCE((k.points ->> r.testcd)::int, 0)
                        ELSE r.orres::int END AS points,
                    x.window_days, x.calculator || ' ' || x.calculator_version AS method,
                    NULL::text AS provisional, x.not_done_reason AS reasnd, v.visit_number,
                    v.name AS visit, x.assessment_date AS rsdtc, p.day0, 0 AS source,
                    x.id AS record, r.n
                {of(SledaiAssessment, visit=True)}
                CROSS JOIN LATERAL (SELECT jsonb_object_agg(c ->> 'code', c -> 'weight') AS points
                    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(x.contributions) = 'array'
                        THEN x.contributions ELSE '[]' END) AS c) AS k
                CROSS JOIN LATERAL (VALUES {sledai}) AS r(testcd, orres, always, nd, n)
                WHERE p.trial_id = %(trial)s AND CASE WHEN x.entry_status = 'entered'
                    THEN r.always OR r.orres IS NOT NULL ELSE r.nd END
                UNION ALL
                SELECT {head("RS")}, x.response_rule_set, 'RENRESP', x.response_category, NULL,
                    NULL, x.response_rule_set || ' ' || x.response_version,
                    x.response_provisional::text, NULL, v.visit_number, v.name,
                    x.assessment_date, p.day0, 1, x.id, 0
                {of(RenalAssessment, visit=True)}
                WHERE {entered} AND x.response_category <> ''
                UNION ALL
                SELECT {head("RS")}, e.key, 'RENRESP', e.value ->> 'category', NULL, NULL,
                    e.key || ' ' || COALESCE(e.value ->> 'version', ''),
                    e.value ->> 'provisional', NULL, v.visit_number, v.name, x.assessment_date,
                    p.day0, 1, x.id, 1
                {of(RenalAssessment, visit=True)}
                CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(x.secondary_responses)
                    = 'object' THEN x.secondary_responses ELSE '{{}}' END) AS e
                WHERE {entered} AND COALESCE(e.value ->> 'category', '') <> ''
            ) AS rs ORDER BY usubjid, visit_number, rsdtc, source, record, n, rscat""",
        # The renal responses marked provisional, as RS selects them.
        "SUPPRS": f"""
            SELECT * FROM (
                SELECT %(code)s AS studyid, 'RS' AS rdomain, {usubjid} AS usubjid,
                    'RSSEQ' AS idvar, 'RSPROVFL' AS qnam, 'Y' AS qval, v.visit_number,
                    x.assessment_date, x.id AS record, '' AS rule_set
                {of(RenalAssessment, visit=True)}
                WHERE {entered} AND x.response_category <> '' AND x.response_provisional
                UNION ALL
                SELECT %(code)s, 'RS', {usubjid}, 'RSSEQ', 'RSPROVFL', 'Y', v.visit_number,
                    x.assessment_date, x.id, e.key
                {of(RenalAssessment, visit=True)}
                CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(x.secondary_responses)
                    = 'object' THEN x.secondary_responses ELSE '{{}}' END) AS e
                WHERE {entered} AND COALESCE(e.value ->> 'category', '') <> ''
                    AND e.value ->> 'provisional' = 'true'
            ) AS supprs ORDER BY usubjid, visit_number, assessment_date, record, rule_set""",
        # Not-done forms included (`records(..., entered=False)`), as RP reads them.
        "RP": f"""
            SELECT {head("RP")}, '{CHILDPOT[0]}' AS rptestcd, x.applicable, x.entry_status,
                x.not_done_reason, v.visit_number, v.name AS visit, x.test_date, v.actual_date,
                p.day0
            {of(PregnancyTest, visit=True)} WHERE p.trial_id = %(trial)s
            ORDER BY usubjid, v.visit_number, x.id""",
        "IE": f"""
            SELECT {head("IE")}, x.criterion_code, x.kind, x.answer, x.answered_at, s.time_zone,
                p.day0
            {of(EligibilityAnswer)} WHERE p.trial_id = %(trial)s
                AND ((x.kind = 'inclusion' AND x.answer = false)
                    OR (x.kind = 'exclusion' AND x.answer = true))
            ORDER BY usubjid, x.kind <> 'inclusion', x.criterion_code, x.id""",
        "DV": f"""
            SELECT {head("DV")}, x.description, x.category, x.severity, v.visit_number,
                v.name AS visit, x.occurred_on, p.day0
            {of(ProtocolDeviation, visit=True)} WHERE {entered} AND x.state = 'confirmed'
            ORDER BY usubjid, x.occurred_on, v.visit_number, x.id""",
        # The LB and RS sides of the renal relationship, once some renal assessment is entered.
        "RELREC": f"""
            SELECT %(code)s AS studyid, r.rdomain, '' AS usubjid, r.idvar, '' AS idvarval,
                'MANY' AS reltype, '{RENAL_LINK}' AS relid
            FROM (VALUES ('LB', 'LBLNKID'), ('RS', 'RSLNKID')) AS r(rdomain, idvar)
            WHERE EXISTS (SELECT 1 {of(RenalAssessment)} WHERE {entered})
            ORDER BY r.rdomain, r.idvar""",
    }


# The COPY baselines at their best: JIT compilation costs more than it saves on these
# statements (85 ms of 890 on RS at 1,000 participants). The as-of statements also need nested
# loops off: after DISTINCT ON the planner guesses 0.5% of the rows pass `entry_status =
# 'entered'` and `trial_id = ...`, and its nested loops then take 10-15 s per dataset.
SETTINGS = {
    "copy": ("SET jit = off",),
    "copy_as_of": ("SET jit = off", "SET enable_nestloop = off"),
}


# Writes one dataset's statement into a file with the raw connection; returns its rows.
Writer = Callable[[Any, str, str, dict[str, Any], Path], int]


def _each_dataset(
    sqls: dict[str, str],
    params: dict[str, Any],
    folder: Path,
    settings: tuple[str, ...],
    write: Writer,
) -> dict[str, Any]:
    """Each dataset's statement written into `folder` by `write`, timed, with the settings."""
    from django.db import connection

    folder.mkdir(parents=True, exist_ok=True)
    connection.ensure_connection()
    raw = connection.connection
    found: dict[str, Any] = {}
    for setting in settings:
        raw.execute(setting)
    started = time.perf_counter()
    try:
        for name, sql in sqls.items():
            path = folder / f"{name}.csv"
            began = time.perf_counter()
            rows = write(raw, name, sql, params, path)
            found[name] = {
                "seconds": time.perf_counter() - began,
                "rows": rows,
                "bytes": path.stat().st_size,
            }
        seconds = time.perf_counter() - started
    finally:
        raw.execute("RESET ALL")
    shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": seconds, "datasets": found}


def _copy(raw: Any, name: str, sql: str, params: dict[str, Any], path: Path) -> int:
    with raw.cursor() as cursor, path.open("wb") as out:
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)", params) as copy:
            for chunk in copy:
                out.write(chunk)
        return int(cursor.rowcount)


def copy_all(
    sqls: dict[str, str], params: dict[str, Any], folder: Path, settings: tuple[str, ...]
) -> dict[str, Any]:
    """COPY (SELECT ...) TO STDOUT (FORMAT csv, HEADER) of each dataset into `folder`: every
    chunk read and written to a file, as the export writes its files."""
    return _each_dataset(sqls, params, folder, settings, _copy)


# Rows the Python floor fetches per round trip: the export's own chunk (exports.snapshot).
FLOOR_CHUNK = 2000


def _fetch(raw: Any, name: str, sql: str, params: dict[str, Any], path: Path) -> int:
    rows = 0
    with raw.transaction(), raw.cursor(name=f"floor_{name.lower()}") as cursor:
        cursor.itersize = FLOOR_CHUNK
        cursor.execute(sql, params)
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([column.name for column in cursor.description or ()])
            while chunk := cursor.fetchmany(FLOOR_CHUNK):
                writer.writerows(chunk)
                rows += len(chunk)
    return rows


def floor_all(
    sqls: dict[str, str], params: dict[str, Any], folder: Path, settings: tuple[str, ...]
) -> dict[str, Any]:
    """The Python floor: the as-of statements of the COPY as-of baseline, each read through a
    server-side cursor in chunks of FLOOR_CHUNK rows (as the export reads its rows) and written
    with csv.writer, values as the driver returns them. No derivation, no conversion: what
    any export that reads the as-of rows into Python and writes CSV must at least spend."""
    return _each_dataset(sqls, params, folder, settings, _fetch)


# --- the export, as the job runs it ------------------------------------------------------------


class Counter:
    """Counts the statements the export issues, by the dataset being written (or its phase)."""

    def __init__(self) -> None:
        self.current = "(before the datasets)"
        self.queries: dict[str, int] = defaultdict(int)
        # Time in `execute`: the whole query for the streamed ones too, since a server-side
        # cursor declared outside a transaction is WITH HOLD, materialized when declared.
        self.sql_seconds: dict[str, float] = defaultdict(float)
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        current = self.current
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries[current] += 1
            self.sql_seconds[current] += time.perf_counter() - started


@contextmanager
def instrumented(counter: Counter) -> Iterator[None]:
    """Time each dataset and the count phase by wrapping the names the job looks up when it
    runs (`write_csv` in exports.tabular, `total_units` in exports.services.runs)."""
    from django.db import connection

    import exports.services.runs as runs
    import exports.tabular as tabular

    write_csv, total_units = tabular.write_csv, runs.total_units

    def timed(label: Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            counter.current = label(*args)
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                counter.seconds[counter.current] += time.perf_counter() - started
                counter.current = "(after the datasets)"

        return wrapper

    tabular.write_csv = timed(lambda ctx, exported, *_: exported.name, write_csv)  # type: ignore[assignment]
    runs.total_units = timed(lambda *_: "(count)", total_units)  # type: ignore[assignment]
    try:
        with connection.execute_wrapper(counter):
            yield
    finally:
        tabular.write_csv, runs.total_units = write_csv, total_units  # type: ignore[assignment]


def _setup() -> tuple[Any, Any]:
    import django

    django.setup()
    from accounts.services import system_actor
    from trials.models import Trial

    return Trial.objects.get(code=TRIAL), system_actor()


def export_once(trial: Any, actor: Any, as_of: datetime) -> dict[str, Any]:
    """Request a blinded CSV export and run it as the Celery task does (`export_run`); only the
    run is timed. Its files are removed afterwards."""
    from django.utils import timezone

    from exports.models import ExportStatus
    from exports.selectors import exports_root
    from exports.services import export_request, export_run

    export = export_request(
        actor=actor, trial=trial, fmt="csv", as_of=as_of, now=timezone.now(), enqueue=False
    )
    started = time.perf_counter()
    result = export_run(export_id=export.pk)
    seconds = time.perf_counter() - started
    if result is None or result.status != ExportStatus.DONE:
        sys.exit(f"The export failed: {result.error if result else 'not run'}")
    files = result.manifest["files"]
    folder = exports_root() / result.files_dir
    found = {
        "seconds": seconds,
        "rows": result.manifest["row_counts"],
        "data_bytes": sum(f["bytes"] for f in files if not f["name"].endswith("_codebook.csv")),
        "codebook_bytes": sum(f["bytes"] for f in files if f["name"].endswith("_codebook.csv")),
    }
    shutil.rmtree(folder, ignore_errors=True)
    return found


# The trial design datasets: a few rows made from the protocol, not read from the tables.
TRIAL_DESIGN = frozenset({"TS", "TA", "TE", "TV", "TI"})
# Files without a COPY baseline: the trial design datasets, and the files with no data rows
# (define.xml, its stylesheet and the annotated CRF).
NO_BASELINE = TRIAL_DESIGN | {"DEFINE", "STYLESHEET", "ACRF"}


def _check_rows(export_rows: dict[str, int], copied: dict[str, Any], what: str) -> None:
    export_rows = {name: rows for name, rows in export_rows.items() if name not in NO_BASELINE}
    wrong = [
        f"{name}: export {export_rows.get(name)}, COPY {item['rows']}"
        for name, item in copied.items()
        if export_rows.get(name) != item["rows"]
    ]
    if wrong or set(export_rows) != set(copied):
        sys.exit(
            f"The {what} COPY baseline does not select the rows the export writes; fix its SQL "
            f"in bench/export_csv.py before comparing times. {'; '.join(wrong)} "
            f"(datasets: export {sorted(export_rows)}, COPY {sorted(copied)})"
        )


def measure_timing(as_of: datetime, folder: Path, runs: int) -> dict[str, Any]:
    """COPY of the live rows, COPY of the as-of rows and the export, alternately, `runs` times."""
    fingerprint = _fingerprint()
    trial, actor = _setup()
    params = {"trial": trial.pk, "code": trial.code, "as_of": as_of}
    baselines = {"copy": dataset_sql(live_table), "copy_as_of": dataset_sql(as_of_table)}
    baselines["floor"] = baselines["copy_as_of"]
    rounds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    counter = Counter()
    for run in range(1, runs + 1):
        order = ["copy", "copy_as_of", "floor", "export"]
        for kind in order if run % 2 else order[::-1]:
            log(f"timing: {kind}, run {run} of {runs}")
            if kind == "export":
                counter.seconds.clear()
                with instrumented(counter):
                    found = export_once(trial, actor, as_of)
                found["phases"] = dict(counter.seconds)
            elif kind == "floor":
                found = floor_all(baselines[kind], params, folder / kind, SETTINGS["copy_as_of"])
            else:
                found = copy_all(baselines[kind], params, folder / kind, SETTINGS[kind])
            rounds[kind].append(found)
    for kind in ("copy", "copy_as_of", "floor"):
        for export, copied in zip(rounds["export"], rounds[kind], strict=True):
            _check_rows(export["rows"], copied["datasets"], kind.replace("_", " "))
    return {
        "export_sources": fingerprint,
        "runs": dict(rounds),
        "queries": {name: count // runs for name, count in counter.queries.items()},
        "sql_seconds": {name: s / runs for name, s in counter.sql_seconds.items()},
    }


def measure_memory(as_of: datetime, trace: bool) -> dict[str, Any]:
    """One export in this fresh process: the peak resident set size before and after it, and
    with `trace` the peak of Python allocations tracemalloc saw during it."""
    import gc
    import resource
    import tracemalloc

    trial, actor = _setup()
    # The export's modules are imported before the "before" figure.
    import exports.services.runs  # noqa: F401

    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    found = export_once(trial, actor, as_of)
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "max_rss_kb_before": before,
        "max_rss_kb": after,
        "tracemalloc_peak_bytes": peak,
        "seconds": found["seconds"],
        "rows": sum(found["rows"].values()),
    }


def measure_stages(trial: Any, as_of: datetime, folder: Path) -> dict[str, dict[str, float]]:
    """Per dataset, without a profiler: the time to produce its rows (queries and Python), then
    also to turn them into CSV cells (`csv_rows`), then also to write them (`write_csv`)."""
    from exports.base import ExportContext
    from exports.cells import csv_rows
    from exports.datasets import exported_datasets
    from exports.tabular import write_csv
    from trials.models import ProtocolVersion

    versions = ProtocolVersion.objects.filter(trial=trial, loaded_at__lte=as_of)
    ctx = ExportContext(trial=trial, protocol_version=versions.latest("number"), as_of=as_of)
    folder.mkdir(parents=True, exist_ok=True)
    found: dict[str, dict[str, float]] = {}
    for exported in exported_datasets(ctx):
        started = time.perf_counter()
        for _ in exported.rows(ctx):
            pass
        rows = time.perf_counter() - started
        started = time.perf_counter()
        cells = csv_rows(exported.dataset.variables, exported.positions, exported.masks)
        for _ in cells(exported.dataset.rows(ctx)):
            pass
        normal = time.perf_counter() - started
        started = time.perf_counter()
        write_csv(ctx, exported, folder / f"{exported.name}.csv", lambda _: None)
        found[exported.name] = {
            "rows": rows,
            "normalized": normal,
            "written": time.perf_counter() - started,
        }
    shutil.rmtree(folder, ignore_errors=True)
    return found


def measure_profile(as_of: datetime, folder: Path, top: int) -> dict[str, Any]:
    """The stages of each dataset, then one export under cProfile: the functions with the most
    time below them and the most time of their own."""
    import cProfile
    import pstats

    trial, actor = _setup()
    stages = measure_stages(trial, as_of, folder)
    profiler = cProfile.Profile()
    found = profiler.runcall(export_once, trial, actor, as_of)
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]
    rows = [
        {
            "function": f"{Path(file).name}:{line} {name}" if line else name,
            "calls": calls,
            "own_seconds": own,
            "cumulative_seconds": cumulative,
        }
        for (file, line, name), (_, calls, own, cumulative, _) in table.items()
    ]
    return {
        "stages": stages,
        "seconds": found["seconds"],
        "by_own": sorted(rows, key=lambda r: -r["own_seconds"])[:top],
        "by_cumulative": sorted(rows, key=lambda r: -r["cumulative_seconds"])[:top],
    }


def main(argv: list[str] | None = None) -> None:
    """The measuring process (`python -m bench.export_csv MODE`), run by `python -m bench`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("timing", "memory", "profile"))
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--folder", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    as_of = datetime.fromisoformat(args.as_of)
    if args.mode == "timing":
        result = measure_timing(as_of, args.folder, args.runs)
    elif args.mode == "memory":
        result = measure_memory(as_of, args.tracemalloc)
    else:
        result = measure_profile(as_of, args.folder, args.top)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- the report --------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Medians over the runs, per kind and per dataset, and the ratios."""
    runs = result["runs"]
    export, copy, as_of = runs["export"], runs["copy"], runs["copy_as_of"]
    floor = runs.get("floor", [])
    rows = sum(export[0]["rows"].values())
    datasets = {}
    # In export order: the manifest's row counts come back from jsonb with their keys sorted.
    # The trial design datasets have no COPY baseline.
    measured = set(export[0]["rows"]) - NO_BASELINE
    for name in [name for name in export[0]["phases"] if name in measured]:
        export_s = _median([r["phases"].get(name, math.nan) for r in export])
        copy_s = _median([r["datasets"][name]["seconds"] for r in copy])
        datasets[name] = {
            "rows": export[0]["rows"][name],
            "export_seconds": export_s,
            "copy_seconds": copy_s,
            "copy_as_of_seconds": _median([r["datasets"][name]["seconds"] for r in as_of]),
            "floor_seconds": _median([r["datasets"][name]["seconds"] for r in floor]),
            "ratio": export_s / copy_s if copy_s else math.nan,
            "queries": result["queries"].get(name, 0),
            "sql_seconds": result["sql_seconds"].get(name, 0.0),
        }
    export_s = _median([r["seconds"] for r in export])
    write_s = _median([sum(r["phases"].get(name, 0.0) for name in datasets) for r in export])
    count_s = _median([r["phases"].get("(count)", math.nan) for r in export])
    copy_s = _median([r["seconds"] for r in copy])
    as_of_s = _median([r["seconds"] for r in as_of])
    floor_s = _median([r["seconds"] for r in floor])
    memory = result["memory"]
    traced = memory.get("tracemalloc") or {}
    return {
        "rows": rows,
        "export_seconds": export_s,
        "export_runs": [r["seconds"] for r in export],
        "write_seconds": write_s,
        "count_seconds": count_s,
        "rest_seconds": export_s - write_s - count_s,
        "copy_seconds": copy_s,
        "copy_as_of_seconds": as_of_s,
        "ratio": export_s / copy_s,
        "write_ratio": write_s / copy_s,
        "as_of_ratio": export_s / as_of_s,
        "floor_seconds": floor_s,
        "floor_ratio": floor_s / copy_s,
        "export_floor_ratio": export_s / floor_s,
        "export_rows_per_second": rows / export_s,
        "copy_rows_per_second": rows / copy_s,
        "export_mb": export[0]["data_bytes"] / 1e6,
        "copy_mb": sum(d["bytes"] for d in copy[0]["datasets"].values()) / 1e6,
        "rss_mb": memory["max_rss_kb"] / 1024,
        "rss_growth_mb": (memory["max_rss_kb"] - memory["max_rss_kb_before"]) / 1024,
        "traced_mb": (traced.get("tracemalloc_peak_bytes") or math.nan) / 1e6,
        "queries": sum(result["queries"].values()),
        "sql_seconds": sum(result["sql_seconds"].values()),
        "generate_seconds": sum(call["seconds"] for call in result["generated"]),
        "datasets": datasets,
    }


def _profile_lines(profile: dict[str, Any], top: int) -> list[str]:
    lines = [
        "",
        "| dataset | rows() s | + cells (csv_rows) s | + written (write_csv) s |",
        "|---|---:|---:|---:|",
    ]
    keys = ("rows", "normalized", "written")
    stages = {**profile["stages"]}
    stages["all"] = {key: sum(stage[key] for stage in profile["stages"].values()) for key in keys}
    for name, stage in stages.items():
        lines.append(f"| {name} | " + " | ".join(f"{stage[key]:.2f}" for key in keys) + " |")
    for title, key in (("time below", "by_cumulative"), ("own time", "by_own")):
        lines += [
            "",
            f"cProfile of one export ({profile['seconds']:.1f} s under the profiler), by {title}:",
            "",
            "| function | calls | own s | cumulative s |",
            "|---|---:|---:|---:|",
        ]
        for row in profile[key][:top]:
            lines.append(
                f"| {row['function']} | {row['calls']:,} | {row['own_seconds']:.2f} "
                f"| {row['cumulative_seconds']:.2f} |"
            )
    return lines


def report(results: list[dict[str, Any]], info: dict[str, Any]) -> str:
    lines = [
        f"machine: {info['cpus']} CPUs, PostgreSQL {info['postgresql']}, Python {info['python']} "
        f"(shared_buffers {info.get('shared_buffers')}, work_mem {info.get('work_mem')})",
        "",
        "| participants | rows | export s | COPY s | ratio | datasets-only ratio | COPY as-of s "
        "| ratio vs as-of | floor s | floor/COPY | export/floor | export rows/s | COPY rows/s "
        "| export MB | COPY MB | queries | peak RSS MB | RSS growth MB | tracemalloc peak MB "
        "| generated in s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
        "|---:|---:|---:|",
    ]
    sums = [(r, summary(r)) for r in results]
    for r, s in sums:
        lines.append(
            f"| {r['participants']:,} | {s['rows']:,} | {s['export_seconds']:.1f} "
            f"| {s['copy_seconds']:.2f} | **{s['ratio']:.1f}x** | {s['write_ratio']:.1f}x "
            f"| {s['copy_as_of_seconds']:.2f} | {s['as_of_ratio']:.1f}x "
            f"| {s['floor_seconds']:.2f} | {s['floor_ratio']:.1f}x "
            f"| {s['export_floor_ratio']:.1f}x "
            f"| {s['export_rows_per_second']:,.0f} | {s['copy_rows_per_second']:,.0f} "
            f"| {s['export_mb']:.1f} | {s['copy_mb']:.1f} | {s['queries']:,} | {s['rss_mb']:.0f} "
            f"| {s['rss_growth_mb']:.0f} | {s['traced_mb']:.1f} | {s['generate_seconds']:.0f} |"
        )
    lines += [
        "",
        "ratio: export seconds (export_run, as the Celery task runs it) over COPY seconds (all "
        "datasets); datasets-only: the time spent in write_csv over the same COPY; floor: the "
        "as-of statements read through a server-side cursor and written with csv.writer; "
        "medians.",
    ]
    if len(sums) > 1:
        (small, a), (large, b) = sums[0], sums[-1]
        scale = large["participants"] / small["participants"]
        lines.append(
            f"memory, {large['participants']:,} against {small['participants']:,} participants "
            f"({scale:.0f}x the rows): peak RSS {b['rss_mb'] / a['rss_mb']:.2f}x, RSS growth "
            f"during the export {b['rss_growth_mb'] / max(a['rss_growth_mb'], 1e-9):.2f}x, "
            f"tracemalloc peak {b['traced_mb'] / a['traced_mb']:.2f}x (target: flat); export "
            f"time {b['export_seconds'] / a['export_seconds']:.1f}x, COPY time "
            f"{b['copy_seconds'] / a['copy_seconds']:.1f}x"
        )
    for r, s in sums:
        verdict = "met" if s["ratio"] <= TARGET_RATIO else "missed"
        seeds = ", ".join(
            f"{c['participants']} (seed {c['seed']}, {c['seconds']:.0f} s)" for c in r["generated"]
        )
        lines += [
            "",
            f"## {r['participants']:,} participants: target {TARGET_RATIO}x {verdict} "
            f"({s['ratio']:.1f}x)",
            f"as of {r['as_of']}; export code fingerprint {r['export_sources']}; load average "
            "before and after: " + " and ".join(f"{load:.1f}" for load in r["load_average"]),
            f"generated: {seeds}",
            f"export runs: {', '.join(f'{x:.1f}' for x in s['export_runs'])} s; median "
            f"{s['export_seconds']:.1f} s = count phase {s['count_seconds']:.1f} + datasets "
            f"{s['write_seconds']:.1f} + the rest (claim, codebooks, manifest with SHA-256) "
            f"{s['rest_seconds']:.1f}; SQL {s['sql_seconds']:.1f} s in {s['queries']:,} queries",
            "",
            "| dataset | rows | export s | COPY s | ratio | COPY as-of s | floor s "
            "| export/floor | queries | SQL s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, d in s["datasets"].items():
            lines.append(
                f"| {name} | {d['rows']:,} | {d['export_seconds']:.2f} | {d['copy_seconds']:.3f} "
                f"| {d['ratio']:.0f}x | {d['copy_as_of_seconds']:.3f} | {d['floor_seconds']:.3f} "
                f"| {d['export_seconds'] / d['floor_seconds']:.1f}x | {d['queries']:,} "
                f"| {d['sql_seconds']:.2f} |"
            )
        other = [k for k in r["queries"] if k not in s["datasets"]]
        lines.append(
            "outside the datasets: "
            + ", ".join(
                f"{k} {r['queries'][k]} queries, {r['sql_seconds'][k]:.2f} s" for k in other
            )
        )
        if r.get("profile"):
            lines += _profile_lines(r["profile"], 25)
    return "\n".join(lines)


def run(
    *,
    sizes: list[int],
    runs: int,
    chunk: int,
    seed: int,
    tracemalloc: bool,
    profile: bool,
    pg_url: str,
    as_json: bool,
    save: Path | None = None,
    keep: bool = False,
) -> None:
    info = machine(pg_url)
    results = []
    for participants in sizes:
        started = time.perf_counter()
        results.append(
            run_size(
                participants=participants,
                runs=runs,
                chunk=chunk,
                seed=seed,
                tracemalloc=tracemalloc,
                # cProfile and the stages take as long as three exports: the smallest size only.
                profile=profile and participants == min(sizes),
                pg_url=pg_url,
                keep=keep,
            )
        )
        log(f"{participants} participants: run took {time.perf_counter() - started:.0f} s")
        if save is not None:
            save.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    if as_json:
        print(json.dumps({"machine": info, "results": results}, indent=2))
    else:
        print(report(results, info))


if __name__ == "__main__":
    main()

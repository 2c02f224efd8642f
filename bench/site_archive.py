"""The site archive job's peak memory and time, at a small and a larger site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH-RESULT "
TRIAL = "MSVLE"


def _process(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run `python -m bench.site_archive MODE ...` in a fresh process and read its result."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.site_archive", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise RuntimeError(f"The process {args[0]} printed no result.")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def prepare(participants: int) -> dict[str, Any]:
    """A fresh database: MSV_LE with `participants` synthetic participants and the trial
    locked. MSV_LE has one site, so every participant is at the site archived."""
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User
    from demo.seed import demo_protocols_load
    from demo.synthetic import generate_synthetic
    from demo.synthetic.staff import username
    from review.models import LockLevel
    from review.services.locks import lock_apply
    from trials.models import Trial

    call_command("migrate", verbosity=0)
    now = timezone.now()
    demo_protocols_load(now)
    generate_synthetic(trial_code=TRIAL, participants=participants)
    trial = Trial.objects.get(code=TRIAL)
    lock_apply(
        actor=User.objects.get(username=username(trial, "data_manager")),
        level=LockLevel.TRIAL,
        trial=trial,
        reason="Database lock (benchmark)",
        now=now,
    )
    return {"prepared": participants}


def request() -> dict[str, Any]:
    """The archive of the site with the most participants, requested by its investigator.
    A separate step so that a kept database can be archived again without generating it."""
    from django.db.models import Count
    from django.utils import timezone

    from accounts.models import User
    from archive.services import site_archive_request
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
    assert busiest is not None
    site = Site.objects.get(pk=busiest["site"])
    archive = site_archive_request(
        actor=User.objects.get(username=username(trial, "investigator", site)),
        site=site,
        now=timezone.now(),
        enqueue=False,
    )
    return {"archive": archive.pk, "site": site.code, "site_participants": busiest["n"]}


def _rss_kb() -> int:
    """The resident set size now (not the peak), from /proc; 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(archive_id: int) -> dict[str, Any]:
    """Run the archive in this fresh process: its peak resident set size and time."""
    import gc
    import resource
    import time

    # WeasyPrint and its fonts are loaded before the "before" figure.
    import weasyprint  # noqa: F401

    from archive import services

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    # After each casebook: the peak so far and the resident size now, so that a long run
    # shows whether the peak grows with the casebooks printed. The job itself is unchanged:
    # the name it looks up at call time is wrapped.
    samples: list[dict[str, Any]] = []
    printed = services.casebook_pdf

    def casebook_pdf(**kwargs: Any) -> bytes:
        data = printed(**kwargs)
        samples.append(
            {
                "casebook": len(samples) + 1,
                "seconds": round(time.monotonic() - started, 1),
                "cpu_seconds": round(cpu() - cpu_before, 1),
                "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "rss_kb": _rss_kb(),
                "bytes": len(data),
            }
        )
        print(f"site archive: casebook {json.dumps(samples[-1])}", file=sys.stderr, flush=True)
        return data

    services.casebook_pdf = casebook_pdf  # type: ignore[assignment]
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = cpu()
    started = time.monotonic()
    archive = services.site_archive_run(archive_id=archive_id)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert archive is not None and archive.status == "done", archive and archive.error
    return {
        "max_rss_kb_before": before,
        "max_rss_kb": after,
        "seconds": seconds,
        "cpu_seconds": cpu() - cpu_before,
        "casebooks": archive.participants_done,
        "files": len(archive.manifest["files"]),
        "bytes": sum(item["bytes"] for item in archive.manifest["files"]),
        "samples": samples,
    }


def _peak_at(samples: list[dict[str, Any]], casebooks: int) -> str:
    """The peak RSS in MB once `casebooks` were printed, or a dash."""
    if len(samples) < casebooks:
        return "-"
    return f"{samples[casebooks - 1]['max_rss_kb'] / 1024:.0f}"


def _one(size: int, folder: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecrf.settings.local",
        "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
        "EXPORTS_DIR": f"{folder}/exports",
        "LOG_LEVEL": "WARNING",
    }
    marker = Path(folder) / "prepared.json"
    if marker.exists():
        print(f"site archive: {size} participants: kept database in {folder}", file=sys.stderr)
    else:
        print(f"site archive: {size} participants: preparing in {folder}", file=sys.stderr)
        marker.write_text(json.dumps(_process(env, "prepare", str(size))))
    requested = _process(env, "request", "0")
    print(f"site archive: {size} participants: measuring {requested}", file=sys.stderr)
    measured = _process(env, "measure", str(requested["archive"]))
    return {"participants": size, **requested, **measured}


def run(*, sizes: list[int], as_json: bool, keep: str | None = None) -> None:
    """Each size in a fresh temporary folder, or with `keep` in `keep/<size>`, kept afterwards
    and reused (generation skipped) when a run finds it already prepared."""
    results = []
    for size in sizes:
        if keep:
            folder = Path(keep).resolve() / str(size)
            folder.mkdir(parents=True, exist_ok=True)
            results.append(_one(size, str(folder)))
        else:
            with tempfile.TemporaryDirectory(prefix="ecrf-bench-archive-") as temporary:
                results.append(_one(size, temporary))
        summary = {k: v for k, v in results[-1].items() if k != "samples"}
        print(f"site archive: {size} participants: {json.dumps(summary)}", file=sys.stderr)
    if as_json:
        print(json.dumps(results, indent=2))
        return
    print(
        "| trial participants | archived at the site | PDFs (MB) | seconds | CPU seconds "
        "| peak RSS (MB) | peak at 20 / 100 / 200 casebooks (MB) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        at = " / ".join(_peak_at(r["samples"], n) for n in (20, 100, 200))
        print(
            f"| {r['participants']} | {r['casebooks']} ({r['site']}) | {r['bytes'] / 1e6:.1f} | "
            f"{r['seconds']:.0f} | {r['cpu_seconds']:.0f} | {r['max_rss_kb'] / 1024:.0f} "
            f"(from {r['max_rss_kb_before'] / 1024:.0f}) | {at} |"
        )


def main(argv: list[str]) -> None:
    import django

    django.setup()
    mode, value = argv
    if mode == "prepare":
        result = prepare(int(value))
    elif mode == "request":
        result = request()
    else:
        result = measure(int(value))
    print(RESULT_PREFIX + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

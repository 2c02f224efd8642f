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
    """A fresh database: MSV_LE with `participants` synthetic participants, the trial locked,
    and the archive of the site with the most participants requested by its investigator."""
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    from accounts.models import User
    from archive.services import site_archive_request
    from demo.seed import demo_protocols_load
    from demo.synthetic import generate_synthetic
    from demo.synthetic.staff import username
    from review.models import LockLevel
    from review.services.locks import lock_apply
    from trials.models import Participant, Site, Trial

    call_command("migrate", verbosity=0)
    now = timezone.now()
    demo_protocols_load(now)
    generate_synthetic(trial_code=TRIAL, participants=participants)
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
    lock_apply(
        actor=User.objects.get(username=username(trial, "data_manager")),
        level=LockLevel.TRIAL,
        trial=trial,
        reason="Database lock (benchmark)",
        now=now,
    )
    archive = site_archive_request(
        actor=User.objects.get(username=username(trial, "investigator", site)),
        site=site,
        now=now,
        enqueue=False,
    )
    return {"archive": archive.pk, "site": site.code, "site_participants": busiest["n"]}


def measure(archive_id: int) -> dict[str, Any]:
    """Run the archive in this fresh process: its peak resident set size and time."""
    import gc
    import resource
    import time

    # WeasyPrint and its fonts are loaded before the "before" figure.
    import weasyprint  # noqa: F401

    from archive.services import site_archive_run

    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    archive = site_archive_run(archive_id=archive_id)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert archive is not None and archive.status == "done", archive and archive.error
    return {
        "max_rss_kb_before": before,
        "max_rss_kb": after,
        "seconds": seconds,
        "casebooks": archive.participants_done,
        "bytes": sum(item["bytes"] for item in archive.manifest["files"]),
    }


def run(*, sizes: list[int], as_json: bool) -> None:
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="ecrf-bench-archive-") as folder:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "ecrf.settings.local",
                "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
                "EXPORTS_DIR": f"{folder}/exports",
                "LOG_LEVEL": "WARNING",
            }
            print(f"site archive: {size} participants: preparing", file=sys.stderr)
            prepared = _process(env, "prepare", str(size))
            print(f"site archive: {size} participants: measuring", file=sys.stderr)
            measured = _process(env, "measure", str(prepared["archive"]))
            results.append({"participants": size, **prepared, **measured})
            print(f"site archive: {size} participants: {json.dumps(results[-1])}", file=sys.stderr)
    if as_json:
        print(json.dumps(results, indent=2))
        return
    print("| trial participants | archived at the site | PDFs (MB) | seconds | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['participants']} | {r['casebooks']} ({r['site']}) | {r['bytes'] / 1e6:.1f} | "
            f"{r['seconds']:.0f} | {r['max_rss_kb'] / 1024:.0f} "
            f"(from {r['max_rss_kb_before'] / 1024:.0f}) |"
        )


def main(argv: list[str]) -> None:
    import django

    django.setup()
    mode, value = argv
    result = prepare(int(value)) if mode == "prepare" else measure(int(value))
    print(RESULT_PREFIX + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

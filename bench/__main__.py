"""Run the benchmarks: `python -m bench [--only flagging|export|archive] [options]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import export_csv, pages, site_archive, visit_flagging


def _sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give one or more positive numbers, e.g. 100000,1000000")
    return sizes


def _given(group: argparse._ArgumentGroup, argv: list[str]) -> bool:
    names = {name for action in group._group_actions for name in action.option_strings}
    return any(arg.split("=", 1)[0] in names for arg in argv)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        allow_abbrev=False,
        description=(
            "flagging: the visit-flagging job against one hand-written SQL UPDATE of the same "
            "rows. export: the full CSV export against PostgreSQL COPY of the same rows, and its "
            "peak memory. Each size runs on a fresh PostgreSQL database that is dropped "
            "afterwards. archive: the site archive job's peak memory and time at two sizes, each "
            "on a fresh SQLite database. Without --only, a benchmark runs when only its options "
            "are given, and flagging and export run otherwise."
        ),
    )
    parser.add_argument(
        "--only",
        choices=("flagging", "export", "pages", "archive"),
        default=None,
        help="run one benchmark only; pages runs only when named, or when only its options "
        "are given",
    )
    flagging = parser.add_argument_group("flagging")
    flagging.add_argument(
        "--visits",
        type=_sizes,
        default=[1_000_000],
        help="visits to generate; several sizes separated by commas (default: 1000000)",
    )
    flagging.add_argument(
        "--batch", type=int, default=1000, help="visits per job step, its `limit` (default: 1000)"
    )
    flagging.add_argument(
        "--budget",
        type=float,
        default=0.0,
        help="the job's time budget in seconds, after which it stops taking batches (default: "
        "0, until every visit is flagged: about 8 minutes at 1,000,000 visits; the scheduled "
        "job uses 240)",
    )
    flagging.add_argument(
        "--explain",
        action="store_true",
        help="EXPLAIN ANALYZE each job query once (half-way; excluded from the timings)",
    )
    export = parser.add_argument_group("export")
    export.add_argument(
        "--participants",
        type=_sizes,
        default=None,
        help="participants to generate; several sizes separated by commas (default: "
        "1000,10000 for export, 100,1000 for pages)",
    )
    export.add_argument(
        "--runs",
        type=int,
        default=3,
        help="timed runs of the export and of each COPY baseline, alternately (default: 3)",
    )
    export.add_argument(
        "--chunk",
        type=int,
        default=0,
        help="participants per generate_synthetic call, the rest with --append (default: 0, "
        "all in one call: the first call sizes the allocation list with 20 spare slots, so an "
        "--append of more than about 25 MSVLE participants runs out of slots)",
    )
    export.add_argument(
        "--seed",
        type=int,
        default=export_csv.SEED,
        help=f"generate_synthetic's seed; a refused call retries with the next (default: "
        f"{export_csv.SEED}, the command's own)",
    )
    export.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also run one export under tracemalloc per size, for the peak of Python "
        "allocations (slows that export about 2x)",
    )
    export.add_argument(
        "--profile",
        action="store_true",
        help="at the smallest size, time each dataset's stages and run one export under cProfile",
    )
    export.add_argument(
        "--save", type=Path, default=None, help="write the raw results as JSON to this file"
    )
    export.add_argument(
        "--keep",
        action="store_true",
        help="keep each size's database (ecrf_bench_export_<participants>_<seed>) and measure "
        "a kept one again without generating it; drop them by hand when done",
    )
    page = parser.add_argument_group("pages (also --participants, --seed, --keep)")
    page.add_argument(
        "--page-runs",
        type=int,
        default=10,
        help="timed requests of a page per role (default: 10)",
    )
    page.add_argument(
        "--page-budget",
        type=float,
        default=20.0,
        help="seconds after which a page is not requested again (default: 20)",
    )
    page.add_argument(
        "--threads",
        type=int,
        default=4,
        help="load threads, one record each (default: 4)",
    )
    page.add_argument(
        "--load-seconds", type=float, default=10.0, help="length of each load round (default: 10)"
    )
    page.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of bare, save and floor save load (default: 3)",
    )
    page.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: 2)")
    page.add_argument(
        "--save-only", action="store_true", help="measure the CRF save only, not the pages"
    )
    page.add_argument(
        "--page-filter",
        default="",
        metavar="TEXT[,TEXT...]",
        help="measure only the pages whose label contains one of these texts, e.g. "
        "'review queue,API me' (default: every page)",
    )
    page.add_argument(
        "--pages-only", action="store_true", help="measure the pages only, not the CRF save"
    )
    page.add_argument(
        "--save-profile",
        type=int,
        default=0,
        metavar="N",
        help="before the load, N of each request through the test client under cProfile, "
        "for where the save's time goes (default: 0, none)",
    )
    archive = parser.add_argument_group("archive")
    archive.add_argument(
        "--archive-participants",
        type=_sizes,
        default=[20, 200],
        help="synthetic participants of the trial; the site with the most of them is archived "
        "(default: 20,200)",
    )
    archive.add_argument(
        "--archive-keep",
        metavar="DIR",
        help="keep each size's database and files in DIR/<size>; a later run with the same DIR "
        "archives the kept database again without generating it",
    )
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server, without a database name (default: $BENCH_PG_URL or "
        "postgres://postgres@127.0.0.1:5432)",
    )
    args = parser.parse_args()
    argv = sys.argv[1:]
    only = args.only
    if only is None and _given(archive, argv):
        only = "archive"
    if only is None and _given(page, argv) and not _given(flagging, argv):
        only = "pages"
    if only is None and _given(flagging, argv) != _given(export, argv):
        only = "flagging" if _given(flagging, argv) else "export"
    if only == "archive":
        site_archive.run(sizes=args.archive_participants, as_json=args.json, keep=args.archive_keep)
        return
    if only == "pages":
        pages.run(
            sizes=args.participants or [100, 1_000],
            runs=args.page_runs,
            budget=args.page_budget,
            threads=args.threads,
            seconds=args.load_seconds,
            rounds=args.rounds,
            workers=args.workers,
            skip_pages=args.save_only,
            skip_save=args.pages_only,
            page_filter=args.page_filter,
            profile=args.save_profile,
            seed=args.seed,
            pg_url=args.pg,
            as_json=args.json,
            keep=args.keep,
        )
    if only in (None, "flagging"):
        visit_flagging.run(
            sizes=args.visits,
            batch=args.batch,
            budget=args.budget,
            explain=args.explain,
            pg_url=args.pg,
            as_json=args.json,
        )
    if only in (None, "export"):
        export_csv.run(
            sizes=args.participants or [1_000, 10_000],
            runs=args.runs,
            chunk=args.chunk,
            seed=args.seed,
            tracemalloc=args.tracemalloc,
            profile=args.profile,
            pg_url=args.pg,
            as_json=args.json,
            save=args.save,
            keep=args.keep,
        )


if __name__ == "__main__":
    main()

"""Fill a trial with synthetic participants and their data, for demos, tests and benchmarks."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.synthetic import (
    DEFAULT_AS_OF,
    DEFAULT_SEED,
    SERVICE_LIMIT,
    SyntheticError,
    generate_synthetic,
)


class Command(BaseCommand):
    help = (
        "Add N synthetic participants to a trial whose protocol is loaded: screening, consent, "
        "eligibility, randomization, visits and forms with derived values, adverse events, "
        "deviations and corrections, all with their audit history. Never run it on real data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--trial", required=True, help="Trial code, e.g. MSVLE.")
        parser.add_argument("--participants", type=int, required=True, help="How many.")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"Default {DEFAULT_SEED}."
        )
        parser.add_argument(
            "--as-of",
            default=DEFAULT_AS_OF.isoformat(),
            help=f"Data cut-off date, YYYY-MM-DD (default {DEFAULT_AS_OF}).",
        )
        parser.add_argument(
            "--append",
            action="store_true",
            help="Add to a trial that already has synthetic participants.",
        )
        parser.add_argument(
            "--mode",
            choices=("auto", "services", "bulk"),
            default="auto",
            help=f"services: one service call per event; bulk: set-based writes; auto: "
            f"services up to {SERVICE_LIMIT} participants.",
        )
        parser.add_argument("--chunk-size", type=int, default=500, help="Participants per chunk.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError:
            raise CommandError(f"--as-of {options['as_of']!r} is not a YYYY-MM-DD date.") from None
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        try:
            summary = generate_synthetic(
                trial_code=options["trial"],
                participants=options["participants"],
                seed=options["seed"],
                as_of=as_of,
                append=options["append"],
                mode=options["mode"],
                chunk_size=options["chunk_size"],
                progress=lambda message: self.stdout.write(message),
            )
        except SyntheticError as error:
            raise CommandError(error.message) from None
        statuses = ", ".join(f"{count} {status}" for status, count in summary.by_status.items())
        self.stdout.write(
            f"{summary.trial}: {summary.participants} synthetic participants written "
            f"({summary.mode}) in {summary.seconds:.1f} s, cut-off "
            f"{summary.cutoff:%Y-%m-%d %H:%M} UTC. Participants now: {statuses}."
        )

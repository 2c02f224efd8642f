"""Generate synthetic on-study participants and visits, all due to be flagged missed."""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.synthetic_visits import generate_visits
from trials.models import Trial


class Command(BaseCommand):
    help = (
        "Create COUNT synthetic visits of new on-study participants of a trial, every window "
        "closed before --now, for load tests and benchmarks. Never run it on real data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="Number of visits.")
        parser.add_argument("--trial", required=True, help="Trial code, e.g. MSVLE.")
        parser.add_argument(
            "--now",
            help="ISO instant by which every window has closed (default: the current time).",
        )
        parser.add_argument(
            "--per-participant",
            type=int,
            default=0,
            help="Visits per participant, from the start of the schedule (default: all).",
        )
        parser.add_argument("--sites", type=int, default=8, help="Sites to spread over.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError(f"--now {options['now']!r} is not an ISO date-time.") from None
            if timezone.is_naive(now):
                raise CommandError("--now needs a UTC offset, e.g. 2026-01-01T00:00:00+00:00.")
        if options["count"] < 1:
            raise CommandError("--count must be at least 1.")
        if not Trial.objects.filter(code=options["trial"]).exists():
            raise CommandError(f"No trial {options['trial']!r}; load its protocol first.")
        try:
            result = generate_visits(
                trial_code=options["trial"],
                count=options["count"],
                now=now,
                per_participant=options["per_participant"],
                sites=options["sites"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Generated {result.visits} visits of {result.participants} participants at "
            f"{result.sites} sites; every window closed before {result.now.isoformat()}."
        )

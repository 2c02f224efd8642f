"""Run the visit and late-report flagging by hand, printing what changed (or would change)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from flagging.late_reports import late_reports_flag_all
from flagging.visits import visits_flag_all
from visits.models import Visit


class Command(BaseCommand):
    help = "Flag opened, overdue and missed visits and late SAE/SUSAR reports, as the job does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        now = timezone.now()
        with transaction.atomic():
            result = visits_flag_all(now=now)
            late = late_reports_flag_all(now=now)
            changed = {
                visit.pk: visit
                for visit in Visit.objects.filter(
                    pk__in=[*result.opened, *result.overdue, *result.missed]
                ).select_related("participant")
            }
            for label, ids in (
                ("opened", result.opened),
                ("overdue", result.overdue),
                ("missed", result.missed),
            ):
                for pk in ids:
                    visit = changed[pk]
                    self.stdout.write(f"{label:8} {visit.participant.identifier} {visit.code}")
            for pk in result.deferred:
                self.stdout.write(f"deferred visit {pk} (see the log)")
            verb = "would change" if dry_run else "changed"
            self.stdout.write(
                f"{verb}: {len(result.opened)} opened, {len(result.overdue)} overdue, "
                f"{len(result.missed)} missed; {late} late SAE/SUSAR report(s)."
            )
            if dry_run:
                # Everything above ran for real inside this transaction, then is undone.
                transaction.set_rollback(True)

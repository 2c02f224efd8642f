"""Count again which forms each visit may still lack, for data written outside the form
services (an upgrade, a bulk import): until then the home page reads more visits than it needs."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from casebook.forms_pending import forms_pending_recount
from visits.models import Visit


class Command(BaseCommand):
    help = "Strike off each visit's pending forms that have a record or can never be missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--trial", help="Only this trial's visits (its code).")

    def handle(self, *args: Any, **options: Any) -> None:
        visits = Visit.objects.all()
        if options["trial"]:
            visits = visits.filter(participant__trial__code=options["trial"])
            if not visits.exists():
                raise CommandError(f"No visits of a trial with code {options['trial']!r}.")
        with transaction.atomic():
            changed = forms_pending_recount(visits)
        self.stdout.write(f"{changed} visits had forms struck off their pending list.")

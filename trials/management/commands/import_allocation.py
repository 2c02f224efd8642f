"""Import a trial's concealed allocation list from CSV (unblinded statistician)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from ecrf.errors import DomainError
from trials.models import Trial
from trials.services import allocation_import
from trials.services.randomization import IMPORT_COLUMNS


class Command(BaseCommand):
    help = f"Import an allocation list from CSV with the columns {', '.join(IMPORT_COLUMNS)}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--trial", required=True)
        parser.add_argument("--as", dest="username", required=True, help="Unblinded statistician.")

    def handle(self, *args: Any, **options: Any) -> None:
        trial = Trial.objects.filter(code=options["trial"]).first()
        if trial is None:
            raise CommandError(f"No trial {options['trial']!r}.")
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {options['username']!r}.")
        try:
            # utf-8-sig: spreadsheet exports often start with a byte-order mark.
            csv_text = options["path"].read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{options['path']}: cannot be read ({error}).") from None
        try:
            allocation_list = allocation_import(
                actor=actor, trial=trial, csv_text=csv_text, now=timezone.now()
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"{trial.code}: {allocation_list.slots.count()} allocation lines imported."
        )

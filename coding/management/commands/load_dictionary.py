"""Load a licensed dictionary release (MedDRA ASCII or WHODrug B3) from its distribution files."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.services import system_actor
from coding.models import Dictionary
from coding.services import dictionary_load
from ecrf.errors import DomainError


class Command(BaseCommand):
    help = (
        "Load a MedDRA release (the MedAscii folder: llt.asc … meddra_release.asc) or a "
        "WHODrug Global B3 release (DD.txt and DDA.txt) as the version new codes are taken from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dictionary", choices=Dictionary.values)
        parser.add_argument("folder", type=Path, help="The folder of the distribution files.")
        parser.add_argument(
            "--release",
            required=True,
            help="The release the files must be, e.g. 27.0 for MedDRA (checked against "
            "meddra_release.asc) or 2026 Mar 1 for WHODrug.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = options["folder"]
        if not folder.is_dir():
            raise CommandError(f"{folder}: no such folder.")
        try:
            loaded = dictionary_load(
                dictionary=options["dictionary"],
                folder=folder,
                version=options["release"],
                actor=system_actor(),
                now=timezone.now(),
            )
        except DomainError as error:
            raise CommandError(f"Nothing was loaded: {error.message}") from None
        self.stdout.write(f"Loaded {loaded} ({loaded.term_count} terms).")

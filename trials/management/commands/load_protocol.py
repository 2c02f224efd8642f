"""Load a protocol definition file: unchanged files change nothing, changed ones are amendments."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.services import system_actor
from ecrf.errors import DomainError
from trials.protocol import ProtocolDefinition, ProtocolError, parse_protocol_file
from trials.services import LoadResult, protocol_load


class Command(BaseCommand):
    help = "Validate and load a protocol definition file (YAML) as the trial's newest version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Definition file(s) to load.")

    def handle(self, *args: Any, **options: Any) -> None:
        # Validate every file before writing anything, then load them in one transaction:
        # a bad file in the list leaves the database exactly as it was.
        definitions = []
        for path in options["paths"]:
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
            try:
                definitions.append((path, parse_protocol_file(path)))
            except ProtocolError as error:
                raise CommandError(f"{path} was not loaded:\n{error}") from None
        now = timezone.now()
        messages = []
        with transaction.atomic():
            actor = system_actor()
            for path, definition in definitions:
                try:
                    result = protocol_load(
                        actor=actor, definition=definition, source_name=path.name, now=now
                    )
                except DomainError as error:
                    raise CommandError(f"{path} was not loaded: {error.message}") from None
                messages.append(_summary(definition, result))
        for message in messages:
            self.stdout.write(message)


def _summary(definition: ProtocolDefinition, result: LoadResult) -> str:
    version = result.version
    if not result.created:
        return (
            f"{definition.code}: version {version.label} (#{version.number}) is already "
            "loaded; nothing changed."
        )
    added = f"; new sites {', '.join(result.sites_added)}" if result.sites_added else ""
    return (
        f"{definition.code}: loaded version {version.label} as #{version.number} "
        f"({len(definition.visits)} visits, {len(definition.sites)} sites{added})."
    )

"""Load a protocol definition file: unchanged files change nothing, changed ones are amendments."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.services import system_actor
from ecrf.errors import DomainError
from trials.protocol import ProtocolError, parse_protocol_file
from trials.services import protocol_load


class Command(BaseCommand):
    help = "Validate and load a protocol definition file (YAML) as the trial's newest version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Definition file(s) to load.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = system_actor()
        for path in options["paths"]:
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
            try:
                definition = parse_protocol_file(path)
                result = protocol_load(
                    actor=actor, definition=definition, source_name=path.name, now=timezone.now()
                )
            except ProtocolError as error:
                raise CommandError(f"{path} was not loaded:\n{error}") from None
            except DomainError as error:
                raise CommandError(f"{path} was not loaded: {error.message}") from None
            version = result.version
            if result.created:
                self.stdout.write(
                    f"{definition.code}: loaded version {version.label} as #{version.number} "
                    f"({len(definition.visits)} visits, {len(definition.sites)} sites"
                    + (f"; new sites {', '.join(result.sites_added)}" if result.sites_added else "")
                    + ")."
                )
            else:
                self.stdout.write(
                    f"{definition.code}: version {version.label} (#{version.number}) is already "
                    "loaded; nothing changed."
                )

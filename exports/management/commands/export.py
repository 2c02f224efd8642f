"""Export a trial's data as CSV, SAS transport or ODM into a folder, with a progress bar."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from accounts.services import system_actor
from ecrf.errors import DomainError
from exports.base import FORMATS, RAW_LAYOUTS
from exports.models import ExportStatus
from exports.services import export_handover, export_request, export_run, parse_as_of
from exports.services.runs import MANIFEST_NAME

BAR_WIDTH = 30


class ProgressBar:
    """A one-line bar on stderr, redrawn when the whole percentage changes."""

    def __init__(self, write: Any) -> None:
        self.write = write
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = min(100, done * 100 // total) if total > 0 else 0
        if percent == self.shown:
            return
        self.shown = percent
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.write(f"\r[{bar}] {percent:3d}% {done}/{total}")

    def close(self) -> None:
        if self.shown >= 0:
            self.write("\n")


class Command(BaseCommand):
    help = (
        "Export a trial as it stood at an instant (default: now) into DIR: the data files and "
        "manifest.json with the SHA-256 of each. Runs in this process; no worker is needed. "
        "Without --user the export is made by the system account and is always blinded; an "
        "unblinded export needs --unblinded and --user naming an unblinded statistician, after "
        "trial lock or under a DSMB release. The export is also recorded, so it appears on the "
        "statisticians' page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--trial", required=True, help="Trial code, e.g. MSVLE.")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument(
            "--as-of",
            default=None,
            help="ISO 8601 instant, e.g. 2026-03-01T12:00:00+01:00; a date alone is 00:00 UTC, "
            "a time without offset is UTC. Default: now.",
        )
        parser.add_argument("--out", required=True, help="Folder to write into (new or empty).")
        parser.add_argument("--unblinded", action="store_true", help="Unblinded export.")
        parser.add_argument("--user", default=None, help="Username the export is made for.")
        parser.add_argument(
            "--raw-tables",
            action="store_true",
            help="Also write the raw tables (one CSV per form, labels, review state and SAS, R "
            "and Stata load programs) into DIR/raw, blinded as the export is and listed in "
            "its manifest.",
        )
        parser.add_argument(
            "--raw-layout",
            default="wide",
            choices=RAW_LAYOUTS,
            help="wide: one row per record and one column per field; long: one row per value.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from trials.models import Trial

        trial = Trial.objects.filter(code=options["trial"]).first()
        if trial is None:
            raise CommandError(f"No trial {options['trial']!r}.")
        if options["unblinded"] and not options["user"]:
            raise CommandError("An unblinded export needs --user, an unblinded statistician.")
        actor: Any = system_actor()
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {options['user']!r}.")
        out = Path(options["out"])
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"{out} is not an empty folder; choose a new or empty one.")
        try:
            as_of = parse_as_of(options["as_of"]) if options["as_of"] else None
            export = export_request(
                actor=actor,
                trial=trial,
                fmt=options["fmt"],
                as_of=as_of,
                unblinded=options["unblinded"],
                raw_layout=options["raw_layout"] if options["raw_tables"] else "",
                now=timezone.now(),
                enqueue=False,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        bar = ProgressBar(lambda text: self.stderr.write(text, ending=""))
        self.stderr.write(
            f"Export {export.pk}: {trial.code} {export.format} as of "
            f"{export.as_of.isoformat()} ({'blinded' if export.blinded else 'unblinded'})"
        )
        try:
            result = export_run(export_id=export.pk, observer=bar)
        finally:
            bar.close()
        if result is None or result.status != ExportStatus.DONE:
            reason = result.error if result is not None else "it was run elsewhere."
            raise CommandError(f"Export {export.pk} failed: {reason}")
        try:
            # Checked again, and an unblinded export's arms recorded as read, as on download.
            members = export_handover(
                user=actor, export=result, path=f"manage.py export #{result.pk}", now=timezone.now()
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        out.mkdir(parents=True, exist_ok=True)
        for name, source in members:
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        self.stdout.write(str((out / MANIFEST_NAME).resolve()))

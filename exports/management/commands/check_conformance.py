"""Check a CSV or XPT export folder against its define.xml and the SDTMIG rules we implement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exports.conformance import RULES, check_export


class Command(BaseCommand):
    help = (
        "Check the CSV or XPT export in DIR (as `export` writes it, define.xml included) "
        "against the variables, types, lengths and code lists its define.xml declares and the "
        "SDTMIG rules listed by --rules. Prints each finding (at most 20 per rule, dataset and "
        "variable) and fails when there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", nargs="?", help="The export's folder.")
        parser.add_argument("--rules", action="store_true", help="List the rules and stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rules"]:
            for code, text in RULES.items():
                self.stdout.write(f"{code}: {text}")
            return
        if not options["folder"]:
            raise CommandError("Name the export's folder.")
        folder = Path(options["folder"])
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        report = check_export(folder)
        for finding in report.findings:
            self.stdout.write(str(finding))
        summary = (
            f"{report.datasets} datasets, {report.records} records, {len(RULES)} rules: "
            f"{report.errors} errors"
        )
        if report.errors:
            counts = ", ".join(f"{rule} {n}" for rule, n in sorted(report.counts.items()))
            raise CommandError(f"{summary} ({counts}).")
        self.stdout.write(summary + ".")

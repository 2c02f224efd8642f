"""Count again the review queue's stored counts of every stale participant, as the periodic
task does, for data written before it ran (an upgrade, a bulk import, a generated trial)."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from casebook.backlog import backlog_refresh_all


class Command(BaseCommand):
    help = "Store the review queue's counts of every participant marked stale."

    def handle(self, *args: Any, **options: Any) -> None:
        done = backlog_refresh_all(now=timezone.now())
        self.stdout.write(f"{done} participants counted.")

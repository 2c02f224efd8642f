"""Exit non-zero when the periodic heartbeat (beat -> broker -> worker -> database) is stale."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ecrf.selectors import WORKER_HEARTBEAT, heartbeat_status


class Command(BaseCommand):
    help = "Check that the periodic heartbeat ran recently; for container health checks."

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        status = heartbeat_status(
            WORKER_HEARTBEAT,
            now=timezone.now(),
            stale_after_seconds=settings.WORKER_STALE_AFTER_SECONDS,
        )
        if status["status"] != "ok":
            raise CommandError(
                f"Heartbeat {status['status']} (last seen {status['last_seen_at']})."
            )
        self.stdout.write(f"Heartbeat ok (last seen {status['last_seen_at']}).")

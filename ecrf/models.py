"""Operational records: heartbeats of periodic jobs."""

from django.db import models


class Heartbeat(models.Model):
    """When a named periodic job last ran to completion on a worker."""

    name = models.CharField(max_length=100, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"

"""The site's time zone made current while a request works on one of its participants, so that
forms and serializers read typed times, and show stored ones, on the site's clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from rest_framework import serializers

from trials.models import Site

# The response header that names the zone a naive time was read in and times are shown in.
TIME_ZONE_HEADER = "X-Time-Zone"


@contextmanager
def site_time_zone(site: Site) -> Iterator[str]:
    """Make the site's zone the current one for the block; yield its IANA name."""
    with timezone.override(ZoneInfo(site.time_zone)):
        yield site.time_zone


class SiteClockRow(serializers.Serializer):
    """A row of a list that spans sites, shown on the clock of its own site: its times carry
    that site's offset and `time_zone` names the zone. `zone_source` is the dotted path from
    the row to the zone's name."""

    zone_source = "participant.site.time_zone"
    time_zone = serializers.SerializerMethodField(
        help_text="The IANA time zone of the row's site; its times are shown on that clock."
    )

    def get_time_zone(self, instance: Any) -> str:
        value: Any = instance
        for part in self.zone_source.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if value is None:
                return ""
        return str(value)

    def to_representation(self, instance: Any) -> Any:
        zone = self.get_time_zone(instance)
        if not zone:
            return super().to_representation(instance)
        with timezone.override(ZoneInfo(zone)):
            return super().to_representation(instance)

"""The site's time zone made current while a request works on one of its participants, so that
forms and serializers read typed times, and show stored ones, on the site's clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from django.utils import timezone

from trials.models import Site

# The response header that names the zone a naive time was read in and times are shown in.
TIME_ZONE_HEADER = "X-Time-Zone"


@contextmanager
def site_time_zone(site: Site) -> Iterator[str]:
    """Make the site's zone the current one for the block; yield its IANA name."""
    with timezone.override(ZoneInfo(site.time_zone)):
        yield site.time_zone

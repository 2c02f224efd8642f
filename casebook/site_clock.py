"""The site's clock for every page and API route about one participant: while the view runs,
the zone of the participant's site is the current one, so that times typed are read on that
clock and times shown are shown on it; a successful answer names the zone in a header.

The participant is found from the route's parameters: the participant, one of their visits,
one query, lock, alert or adverse event about them. Lists that span sites show each row on the
clock of that row's site (see `trials.site_zone.SiteClockRow`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from alerts.models import Alert
from review.models import DataQuery, Lock
from safety.models import AdverseEvent
from trials.models import Participant
from trials.site_zone import TIME_ZONE_HEADER
from visits.models import Visit

# A route parameter, and the model and path to the site's zone it names.
_ZONE_OF: dict[str, tuple[type[Model], str]] = {
    "participant_id": (Participant, "site__time_zone"),
    "visit_id": (Visit, "participant__site__time_zone"),
    "query_id": (DataQuery, "participant__site__time_zone"),
    "lock_id": (Lock, "participant__site__time_zone"),
    "alert_id": (Alert, "participant__site__time_zone"),
    "adverse_event_id": (AdverseEvent, "participant__site__time_zone"),
}


def _zone_of(view_kwargs: dict[str, Any]) -> str:
    for param, (model, path) in _ZONE_OF.items():
        if param in view_kwargs:
            found = model._default_manager.filter(pk=view_kwargs[param]).values_list(path)
            zone = found.first()
            return (zone or ("",))[0] or ""
    return ""


class SiteClockMiddleware:
    """Activate the zone of the participant's site for the view; the view still decides who
    may see the participant, so a refused request learns nothing, not even the zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        zone = getattr(request, "site_time_zone", "")
        if zone and response.status_code < 400:
            response[TIME_ZONE_HEADER] = zone
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if getattr(view_class, "site_clock_in_view", False):
            # The view reads the participant before anything that reads or shows a time,
            # and starts the clock of their site itself (`site_clock_start`).
            return
        site_clock_start(request, _zone_of(view_kwargs))


def site_clock_start(request: Any, zone: str) -> None:
    """Make the site's `zone` the current one for the rest of the request, and name it in a
    successful answer. For a view that reads the participant itself before it reads or shows a
    time (`site_clock_in_view` on its class): the middleware need not look for the zone."""
    if zone:
        timezone.activate(ZoneInfo(zone))
        # On Django's request, which the middleware reads back (a DRF request wraps it).
        getattr(request, "_request", request).site_time_zone = zone

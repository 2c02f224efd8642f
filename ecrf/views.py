"""Project-wide pages: the health probe, the 404 and 500 answers of pages and the API, and the
way a page runs a service call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError
from ecrf.selectors import system_health


def attempt(request: HttpRequest, action: Callable[[], Any], done: str) -> bool:
    """Run one service call for a page; a refusal the person can fix is shown as a message
    (False), success as `done` (True). Access refusals (403, 404) reach the error page."""
    try:
        action()
    except (PermissionDeniedError, NotFoundError):
        raise
    except DomainError as error:
        messages.error(request, error.message)
        return False
    messages.success(request, done)
    return True


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    report = system_health(now=timezone.now())
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _api_error(request: HttpRequest, error: DomainError, status: int) -> HttpResponse | None:
    # An API client gets the API's one error body wherever the error arose, JSON not a page.
    if request.path.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=status)
    return None


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 of an address that matches no route (an id that is not a number, say)."""
    error = NotFoundError("No such address in the API.")
    return _api_error(request, error, 404) or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    error = DomainError("Something went wrong on the server; the error is logged.")
    error.code = "server_error"
    return _api_error(request, error, 500) or defaults.server_error(request)

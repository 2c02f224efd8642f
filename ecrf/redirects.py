"""Where to go after a form: the `next` it sent when that is a page of this site."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, *, default: str) -> str:
    """`next` from the form (or the query string) when it is a path on this site; else
    `default`. Anything else could send a signed-in person to another site that looks like
    this one (an open redirect), or, as a bare word, be taken for a URL name."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default

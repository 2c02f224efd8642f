"""Activate the signed-in user's chosen language for every request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        request.LANGUAGE_CODE = user.language  # type: ignore[attr-defined]
        # Restore the previous language afterwards, so it never leaks into whatever this
        # thread does next.
        with translation.override(user.language):
            return self.get_response(request)

"""Per request: the signed-in user's language, and the second factor their session owes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.authentication import ApiTokenAuthentication
from accounts.two_factor import Step, missing_step


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            # An API token names its user only once the view authenticates it, which then
            # speaks the user's language (ApiTokenAuthentication): restored here afterwards.
            with translation.override(translation.get_language()):
                return self.get_response(request)
        request.LANGUAGE_CODE = user.language  # type: ignore[attr-defined]
        # Restore the previous language afterwards, so it never leaks into whatever this
        # thread does next.
        with translation.override(user.language):
            return self.get_response(request)


class TwoFactorMiddleware:
    """Before anything else, a session that owes a second factor is sent to verify it or set it
    up (pages) or refused (the API). Token-authenticated API requests are not asked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self._refusal(request) or self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        path = request.path_info
        is_api = path.startswith("/api/")
        if is_api and _bears_token(request):
            return None
        if path in _open_paths() or path.startswith(("/static/", "/i18n/")):
            return None
        step = missing_step(request)
        if step is None:
            return None
        if is_api:
            message = (
                _(
                    "Your role requires two-factor authentication: set it up at %(url)s before "
                    "using the API from this session."
                )
                if step == Step.SETUP
                else _(
                    "Enter the code from your authenticator app at %(url)s to finish signing "
                    "in before using the API from this session."
                )
            ) % {"url": reverse(f"two-factor-{step}")}
            body = {"error": {"code": "two_factor_required", "message": message, "fields": {}}}
            return JsonResponse(body, status=403)
        if request.headers.get("HX-Request"):
            # A fragment must not be replaced by the whole sign-in page.
            return HttpResponseForbidden(_("Finish signing in first."))
        target = reverse(f"two-factor-{step}")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)


def _bears_token(request: HttpRequest) -> bool:
    # Matches the token authentication, which then accepts the token or answers 401 itself.
    words = request.headers.get("Authorization", "").split()
    return bool(words) and words[0].lower() == ApiTokenAuthentication.keyword.lower()


@functools.cache
def _open_paths() -> frozenset[str]:
    """Pages a session owing a second factor may still reach."""
    names = ["login", "logout", "set-language", "health", "two-factor-setup", "two-factor-verify"]
    return frozenset(reverse(name) for name in names)

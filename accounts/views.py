"""Pages for signing in and out, the second factor, API tokens, choosing a language, and
choosing a password when invited."""

from __future__ import annotations

from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.forms import PasswordForm, SetupForm, TokenCreateForm, VerifyForm
from accounts.selectors import token_list
from accounts.services import (
    recovery_codes_left,
    recovery_codes_regenerate,
    token_create,
    token_revoke,
    two_factor_confirm,
    two_factor_disable,
    two_factor_setup_device,
    two_factor_verify,
    user_set_language,
)
from accounts.two_factor import (
    VERIFY_SESSION_KEY,
    has_authenticator,
    session_verified,
    two_factor_required,
)
from ecrf.errors import DomainError
from ecrf.redirects import safe_next_url


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        # The project's one rule for `next`: a path on this site, else the home page.
        return safe_next_url(request or self.request, default="")


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The invitation link: the new member chooses their password, once.

    Django's token checks the link (it stops working once a password is set, and after
    PASSWORD_RESET_TIMEOUT); the person then signs in as usual.
    """

    template_name = "registration/set_password.html"
    success_url = reverse_lazy("set-password-done")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:  # type: ignore[type-arg]
        # Nobody is signed in here: the account's owner is the one who changes it.
        form.user._history_user = form.user  # type: ignore[attr-defined]
        form.user._change_reason = "Password chosen through the invitation link"  # type: ignore[attr-defined]
        return super().form_valid(form)


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/set_password_done.html"


@login_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    try:
        user_set_language(user=request.user, language=request.POST.get("language", ""))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        translation.activate(request.user.language)  # type: ignore[union-attr]
        messages.success(request, _("Language changed."))
    return HttpResponseRedirect(safe_next_url(request, default="/"))


def _next_url(request: HttpRequest) -> str:
    """Where to go once signed in: the page asked for, if it is on this site."""
    return safe_next_url(request, default=reverse("home"))


def _with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _show_errors(form: Form, error: DomainError) -> None:
    for name, problems in error.fields.items():
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
    if not any(name in form.fields for name in error.fields):
        form.add_error(None, error.message)


# Two-factor authentication ------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the code, confirm with a first code, keep the
    recovery codes. Replacing one already set up needs a verified session and the password."""
    user = request.user
    replacing = has_authenticator(user)
    if replacing and not session_verified(user):
        return redirect(_with_next("two-factor-verify", reverse("two-factor-setup")))
    form = SetupForm(request.POST or None, replacing=replacing)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor_confirm(
                user=user,
                code=form.cleaned_data["code"],
                password=form.cleaned_data.get("password", ""),
                request=request,
            )
        except DomainError as error:
            _show_errors(form, error)
            status = error.status_code
        else:
            otp_login(request, device)
            request.session.pop(VERIFY_SESSION_KEY, None)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _next_url(request), "first_time": not replacing},
            )
    elif request.method == "POST":
        status = 400
    device = two_factor_setup_device(user=user)
    qr = segno.make(device.config_url, error="m")
    secret = b32encode(device.bin_key).decode()
    context: dict[str, Any] = {
        "form": form,
        "qr_svg": qr.svg_inline(scale=5, border=2, light="#fff", title=_("Set-up code")),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "replacing": replacing,
        "required": two_factor_required(user),
        "next": _next_url(request),
    }
    return render(request, "accounts/two_factor_setup.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify_view(request: HttpRequest) -> HttpResponse:
    """After the password, the code from the authenticator app (or a recovery code)."""
    user = request.user
    if session_verified(user):
        return redirect(_next_url(request))
    if not has_authenticator(user):
        # Nothing to verify with (it was removed): set one up if the role requires it.
        request.session.pop(VERIFY_SESSION_KEY, None)
        if two_factor_required(user):
            return redirect(_with_next("two-factor-setup", _next_url(request)))
        return redirect(_next_url(request))
    form = VerifyForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_verify(user=user, code=form.cleaned_data["code"], request=request)
        except DomainError as error:
            _show_errors(form, error)
            status = error.status_code
        else:
            otp_login(request, device)
            request.session.pop(VERIFY_SESSION_KEY, None)
            if isinstance(device, StaticDevice):
                messages.warning(
                    request,
                    _("You used a recovery code; %(left)s are left.")
                    % {"left": recovery_codes_left(user)},
                )
            return redirect(_next_url(request))
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _next_url(request)},
        status=status,
    )


@never_cache
@login_required
def two_factor_status(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "enabled": has_authenticator(user),
        "required": two_factor_required(user),
        "codes_left": recovery_codes_left(user),
        "password_form": PasswordForm(),
    }
    return render(request, "accounts/two_factor.html", context)


@never_cache
@login_required
@require_POST
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    """New recovery codes, after the password; shown once."""
    form = PasswordForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(_("Enter your password."))
        codes = recovery_codes_regenerate(
            user=request.user, password=form.cleaned_data["password"], request=request
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("two-factor")
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "next": reverse("two-factor"), "first_time": False},
    )


@login_required
@require_POST
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    form = PasswordForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(_("Enter your password."))
        two_factor_disable(
            user=request.user, password=form.cleaned_data["password"], request=request
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        request.session.pop(VERIFY_SESSION_KEY, None)
        messages.success(request, _("Two-factor authentication is off."))
    return redirect("two-factor")


# API tokens ---------------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens; a new one after the password, its key shown once."""
    now = timezone.now()
    form = TokenCreateForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            token, key = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                password=form.cleaned_data["password"],
                expires_in_days=form.cleaned_data.get("expires_in_days"),
                request=request,
                now=now,
            )
        except DomainError as error:
            _show_errors(form, error)
            status = error.status_code
        else:
            created = {"token": token, "key": key}
            form = TokenCreateForm()
    elif request.method == "POST":
        status = 400
    context = {"form": form, "created": created, "tokens": token_list(request.user, now=now)}
    return render(request, "accounts/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = token_revoke(user=request.user, token_id=token_id, now=timezone.now())
    messages.success(request, _("Token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("tokens")

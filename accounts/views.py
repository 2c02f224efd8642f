"""Pages for signing in and out, choosing a language, and choosing a password when invited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.services import user_set_language
from ecrf.errors import DomainError


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


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
    next_url = request.POST.get("next") or "/"
    return redirect(next_url if next_url.startswith("/") and not next_url.startswith("//") else "/")

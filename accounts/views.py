"""Pages for signing in and out and choosing a language."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.services import user_set_language
from ecrf.errors import DomainError
from ecrf.redirects import safe_next_url


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        # The project's one rule for `next`: a path on this site, else the home page.
        return safe_next_url(request or self.request, default="")


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

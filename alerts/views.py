"""Alert pages: the alerts of the current workspace, acknowledging one, and the nav badge."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from alerts.models import AlertKind, AlertStatus
from alerts.selectors import ALERT_READER_ROLES, alert_get, alert_list, open_alert_count
from alerts.services import alert_acknowledge
from ecrf.access import SAE_CLOCK_ROLES
from ecrf.errors import InvalidTransitionError, PermissionDeniedError
from ecrf.redirects import safe_next_url
from trials.workspace import current_membership

PAGE_SIZE = 50


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All")), *AlertStatus.choices],
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("All")), *AlertKind.choices],
    )


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
@require_GET
def alert_list_view(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    context: dict[str, Any] = {"membership": membership}
    if membership is not None:
        if membership.role not in ALERT_READER_ROLES:
            raise PermissionDeniedError(_("Your role in this trial does not include alerts."))
        # Open alerts are the work to do: shown first unless another status is chosen.
        filters = AlertFilterForm(request.GET or {"status": AlertStatus.OPEN})
        chosen = filters.cleaned_data if filters.is_valid() else {}
        alerts = alert_list(
            request.user,
            trial=membership.trial,
            site=membership.site,
            status=chosen.get("status") or None,
            kind=chosen.get("kind") or None,
        )
        context |= {
            "filters": filters,
            "page": Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page")),
            "query": urlencode({name: value for name, value in chosen.items() if value}),
        }
    return render(request, "alerts/alert_list.html", context)


@login_required
@require_POST
def acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_get(request.user, pk)
    error = ""
    try:
        alert_acknowledge(actor=request.user, alert=alert, now=timezone.now())
    except InvalidTransitionError as refused:
        error = refused.message
    if _is_htmx(request):
        context = {"alert": alert_get(request.user, pk), "error": error}
        return render(request, "alerts/_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("Alert for %(participant)s acknowledged.")
            % {"participant": alert.participant.identifier},
        )
    return HttpResponseRedirect(safe_next_url(request, default=reverse("alerts:list")))


@never_cache
@login_required
@require_GET
def nav_view(request: HttpRequest) -> HttpResponse:
    """The nav links for the current role, with the open-alert count; loaded after the page."""
    membership = current_membership(request)
    show_alerts = membership is not None and membership.role in ALERT_READER_ROLES
    context = {
        "show_alerts": show_alerts,
        "show_clock": membership is not None and membership.role in SAE_CLOCK_ROLES,
        "open_count": open_alert_count(request.user, trial=membership.trial, site=membership.site)
        if show_alerts
        else 0,
    }
    # Rendered without the request: the page-wide context would query the memberships again.
    return HttpResponse(render_to_string("alerts/_nav.html", context))

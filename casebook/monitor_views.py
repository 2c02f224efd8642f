"""Monitoring pages: the dashboard of the sites a monitor covers, its weekly trend chart, and
the report of a monitoring visit (page, print and CSV)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from casebook.chart_views import _svg, svg_policy
from casebook.charts import monitoring_svg
from casebook.monitoring.dashboard import monitor_dashboard
from casebook.monitoring.report import monitoring_visit_report, visit_report_csv_lines
from casebook.monitoring.scope import monitored_sites, site_chosen
from casebook.review_forms import VisitReportForm
from ecrf.errors import DomainError
from trials.models import Site
from trials.workspace import current_membership

# A report covers the last four weeks unless other days are chosen.
REPORT_DAYS = 28


@login_required
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    context: dict[str, Any] = {"membership": membership}
    if membership is not None:
        sites = monitored_sites(request.user, membership.trial)
        chosen = request.GET.get("site", "")
        shown = [site_chosen(sites, chosen)] if chosen else sites
        context |= {
            "sites": sites,
            "chosen": chosen,
            "rows": monitor_dashboard(membership.trial, shown, now=timezone.now()),
        }
    return render(request, "review/monitoring.html", context)


def _site(request: HttpRequest) -> tuple[list[Site], Site]:
    """The sites the user monitors in the workspace's trial, and the one asked for (the first
    unless one is named)."""
    membership = current_membership(request)
    if membership is None:
        raise DomainError(_("Choose a trial to work in first."))
    sites = monitored_sites(request.user, membership.trial)
    code = request.GET.get("site", "") or (sites[0].code if sites else "")
    return sites, site_chosen(sites, code)


@svg_policy
@login_required
@require_GET
def trends_svg(request: HttpRequest) -> HttpResponse:
    _sites, site = _site(request)
    (row,) = monitor_dashboard(site.trial, [site], now=timezone.now())
    return _svg(monitoring_svg(row.weeks))


def _report(request: HttpRequest) -> tuple[VisitReportForm, Any]:
    sites, site = _site(request)
    today = timezone.localtime(timezone.now(), ZoneInfo(site.time_zone)).date()
    chosen = {
        "site": site.code,
        "first": today - timedelta(days=REPORT_DAYS),
        "last": today,
        **request.GET.dict(),
    }
    form = VisitReportForm(chosen, sites=[(s.code, f"{s.code} {s.name}") for s in sites])
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, monitoring_visit_report(site, first=data["first"], last=data["last"])


@login_required
@require_GET
def visit_report_view(request: HttpRequest) -> HttpResponse:
    form, report = _report(request)
    return render(request, "review/visit_report.html", {"form": form, "report": report})


@login_required
@require_GET
def visit_report_csv_view(request: HttpRequest) -> HttpResponse:
    _form, report = _report(request)
    if report is None:
        raise DomainError(_("Choose the site and the days of the report."))
    response = HttpResponse(
        "".join(visit_report_csv_lines(report)), content_type="text/csv; charset=utf-8"
    )
    name = f"monitoring-visit-{report.site.code}-{report.first}-{report.last}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

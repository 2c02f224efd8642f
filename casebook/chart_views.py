"""Chart pages: a participant's measures by study day, and a trial's progress.

Each chart is an SVG on its own URL, shown with <img> above a table of the same values. The
SVG carries its own styles, so its response alone allows inline styles; an SVG shown as an
image runs no script, and the pages around it keep the strict policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assessments.trends import participant_trends
from casebook.charts import completeness_svg, enrolment_svg, measure_svg
from ecrf.errors import PermissionDeniedError
from trials.models import Trial
from trials.selectors import participant_get
from trials.workspace import current_membership
from visits.selectors import trial_enrolment, visit_completeness

TRIAL_CHARTS = ("enrolment", "visits")


def _svg(content: str) -> HttpResponse:
    response = HttpResponse(content, content_type="image/svg+xml; charset=utf-8")
    # Participant data: kept out of shared caches and out of the browser's disk cache.
    response["Cache-Control"] = "private, no-store"
    return response


View = TypeVar("View", bound=Callable[..., HttpResponse])


def svg_policy(view: View) -> View:
    """Allow the SVG's own inline styles on this response; scripts stay refused."""
    return cast(View, csp_update({"style-src": [UNSAFE_INLINE]})(view))


@login_required
@require_GET
def participant_charts(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = participant_get(request.user, participant_id)
    trends = participant_trends(request.user, participant)
    return render(
        request,
        "assessments/charts.html",
        {"participant": participant, "trends": trends},
    )


@svg_policy
@login_required
@require_GET
def participant_chart_svg(request: HttpRequest, participant_id: int, measure: str) -> HttpResponse:
    participant = participant_get(request.user, participant_id)
    trends = participant_trends(request.user, participant)
    found = trends.measure(measure)
    if found is None:
        raise Http404
    return _svg(measure_svg(trends, found))


def _trial(request: HttpRequest) -> Trial:
    membership = current_membership(request)
    if membership is None:
        raise PermissionDeniedError(_("Choose a trial to work in first."))
    return membership.trial


@login_required
@require_GET
def trial_charts(request: HttpRequest) -> HttpResponse:
    trial = _trial(request)
    return render(
        request,
        "assessments/trial_charts.html",
        {
            "trial": trial,
            "enrolment": trial_enrolment(request.user, trial),
            "completeness": visit_completeness(request.user, trial),
        },
    )


@svg_policy
@login_required
@require_GET
def trial_chart_svg(request: HttpRequest, chart: str) -> HttpResponse:
    if chart not in TRIAL_CHARTS:
        raise Http404
    trial = _trial(request)
    if chart == "enrolment":
        return _svg(enrolment_svg(trial_enrolment(request.user, trial)))
    return _svg(completeness_svg(visit_completeness(request.user, trial)))

"""The page action that records a visit, from the participant page's schedule."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assessments.services.visits import visit_record
from trials.forms import VisitRecordForm, submit
from trials.selectors import participant_get
from visits.selectors import visit_get
from visits.views import participant_page


@login_required
@require_POST
def visit_record_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = visit_get(request.user, visit_id)
    prefix = f"visit-{visit.pk}"
    form = VisitRecordForm(request.POST, prefix=prefix)
    recorded = submit(
        form,
        lambda data: visit_record(actor=request.user, visit=visit, now=timezone.now(), **data),
    )
    participant = participant_get(request.user, visit.participant_id)
    if recorded is None:
        return participant_page(request, participant, bound={prefix: form}, status=400)
    messages.success(request, _("Visit %(code)s recorded.") % {"code": visit.code})
    return redirect(reverse("trials:participant", args=[participant.pk]) + "#schedule")

"""Review pages: the workspace's queue, one form under review, and a participant's audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from assessments.blinding import revealing_read_record
from casebook.catalogue import form_type
from casebook.outstanding import signature_outstanding
from casebook.review_forms import (
    AuditFilterForm,
    BulkSignForm,
    QueryAnswerForm,
    QueryOpenForm,
    QueryTextForm,
    QueueFilterForm,
    SdvForm,
    SignForm,
)
from casebook.review_selectors import (
    QUEUE_SECTIONS,
    REVIEW_ROLES,
    audit_form_choices,
    audit_trail,
    audit_trail_csv_lines,
    form_record_get,
    query_get,
    record_review,
    review_queue,
)
from casebook.review_selectors.signing import visits_to_sign, visits_to_sign_get
from casebook.review_services import audit_trail_shown
from ecrf.access import Role
from ecrf.errors import NotFoundError, PermissionDeniedError
from ecrf.pagination import page_shown
from ecrf.views import attempt
from review.models import SIGNATURE_MEANING, ResponseCode, SignatureScope
from review.services.queries import (
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_requery,
)
from review.services.sdv import sdv_verify
from review.services.signatures import signature_sign, signature_sign_visits
from trials.access import active_memberships, holds_role
from trials.selectors import participant_get, trial_sites
from trials.workspace import current_membership


def _record_url(participant_id: int, code: str, record_id: int, anchor: str = "") -> str:
    url = reverse("review:record", args=[participant_id, code, record_id])
    return f"{url}#{anchor}" if anchor else url


# The queue ----------------------------------------------------------------------------------


@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    context: dict[str, Any] = {"membership": membership}
    if membership is not None:
        if membership.role not in REVIEW_ROLES:
            raise PermissionDeniedError(_("Your role in this trial does not include review."))
        # A site-bound reviewer (a monitor of several sites) chooses among their own sites;
        # the others among all of the trial's.
        sites = (
            list(
                active_memberships(request.user)
                .filter(trial=membership.trial, role__in=REVIEW_ROLES, site__isnull=False)
                .order_by("site__code")
                .values_list("site__code", "site__name")
            )
            if membership.site
            else [(s.code, s.name) for s in trial_sites(membership.trial)]
        )
        sites = list(dict.fromkeys(sites))
        filters = QueueFilterForm(request.GET or None, sites=sites)
        chosen = filters.cleaned_data if filters.is_valid() else {}
        # No choice made: the workspace's site; "all my sites" chosen: every one of them.
        site = chosen.get("site") or (None if "site" in request.GET else membership.site)
        queue = review_queue(
            request.user,
            trial=membership.trial,
            site=site,
            participant=chosen.get("participant") or None,
            age=chosen.get("age") or "",
        )
        context |= {
            "filters": filters,
            "queue": queue,
            "sections": _queue_pages(request, queue),
            "site_choice": not membership.site or len(sites) > 1,
            "site_name": dict(sites).get(getattr(site, "code", site) or "", ""),
        }
    return render(request, "review/queue.html", context)


def _queue_pages(request: HttpRequest, queue: Any) -> dict[str, dict[str, Any]]:
    """One page of each list of the queue, each turned by its own `<list>_page` parameter;
    the links keep the filters and the pages of the other lists."""
    counts = queue.counts
    sections = {}
    for name in QUEUE_SECTIONS:
        param = f"{name}_page"
        shown = page_shown(queue.section(name), request.GET.get(param), count=counts[name])
        others = request.GET.copy()
        others.pop(param, None)
        sections[name] = {
            "page": shown,
            "rows": queue.shown(name, shown.object_list),
            "param": param,
            "query": others.urlencode(),
        }
    return sections


# One record ---------------------------------------------------------------------------------


@login_required
@require_GET
def record_view(
    request: HttpRequest, participant_id: int, code: str, record_id: int
) -> HttpResponse:
    record = form_record_get(request.user, participant_id, code, record_id)
    now = timezone.now()
    review = record_review(request.user, code, record, now=now)
    revealing_read_record(
        user=request.user,
        participant=record.participant,
        ftypes=[form_type(code)],
        path=request.path,
        now=now,
    )
    outstanding = {}
    if review.can_sign:
        participant, visit = record.participant, getattr(record, "visit", None)
        outstanding = {
            "form": signature_outstanding(participant=participant, form_code=code, record=record),
            "casebook": signature_outstanding(participant=participant),
        }
        if visit is not None:
            outstanding["visit"] = signature_outstanding(participant=participant, visit=visit)
    return render(
        request,
        "review/record.html",
        {
            "review": review,
            "response_codes": ResponseCode.choices,
            "meaning": SIGNATURE_MEANING,
            "outstanding": outstanding,
        },
    )


@login_required
@require_POST
def query_open_view(
    request: HttpRequest, participant_id: int, code: str, record_id: int
) -> HttpResponse:
    record = form_record_get(request.user, participant_id, code, record_id)
    form = QueryOpenForm(request.POST)
    anchor = "form-queries"
    if not form.is_valid():
        messages.error(request, _("Write the question to the site."))
    elif (
        attempt(
            request,
            lambda: query_open(
                actor=request.user,
                ftype=form_type(code),
                record=record,
                field_name=form.cleaned_data["field_name"],
                text=form.cleaned_data["text"],
                now=timezone.now(),
            ),
            _("Query opened."),
        )
        and form.cleaned_data["field_name"]
    ):
        # The service accepted the field name: it is one of the form's fields.
        anchor = f"field-{form.cleaned_data['field_name']}"
    return redirect(_record_url(participant_id, code, record_id, anchor))


QUERY_STEPS: dict[str, tuple[Any, Any]] = {
    "answer": (query_answer, gettext_lazy("Query answered.")),
    "close": (query_close, gettext_lazy("Query closed.")),
    "requery": (query_requery, gettext_lazy("Query sent back to the site.")),
    "reopen": (query_reopen, gettext_lazy("Query re-opened.")),
}


@login_required
@require_POST
def query_step_view(request: HttpRequest, query_id: int, step: str) -> HttpResponse:
    """Answer (site staff), close or re-query (the opener's role), re-open (monitor, data
    manager) one query."""
    if step not in QUERY_STEPS:
        raise NotFoundError(_("No such step."))
    query = query_get(request.user, query_id)
    service, done = QUERY_STEPS[step]
    form: Any = QueryAnswerForm(request.POST) if step == "answer" else QueryTextForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a response and write a comment."))
    else:
        attempt(
            request,
            lambda: service(
                actor=request.user, query=query, now=timezone.now(), **form.cleaned_data
            ),
            str(done),
        )
    return redirect(
        _record_url(
            query.participant_id, query.form_code, query.object_id or 0, f"query-{query_id}"
        )
    )


@login_required
@require_POST
def sdv_view(request: HttpRequest, participant_id: int, code: str, record_id: int) -> HttpResponse:
    record = form_record_get(request.user, participant_id, code, record_id)
    form = SdvForm(request.POST)
    chosen = form.cleaned_data if form.is_valid() else {}
    # The field checkboxes send scope=fields; the form-level button verifies every required field.
    fields = request.POST.getlist("fields") if request.POST.get("scope") == "fields" else None
    attempt(
        request,
        lambda: sdv_verify(
            actor=request.user,
            form_code=code,
            record=record,
            now=timezone.now(),
            form_fields=form_type(code).fields,
            fields=fields,
            override=chosen.get("override", False),
            reason=chosen.get("reason", ""),
        ),
        _("Source data verified.") if fields is None else _("Fields verified."),
    )
    return redirect(_record_url(participant_id, code, record_id, "sdv"))


@login_required
@require_POST
def sign_view(request: HttpRequest, participant_id: int, code: str, record_id: int) -> HttpResponse:
    """Sign this form, its visit or the whole casebook, with the password entered again."""
    record = form_record_get(request.user, participant_id, code, record_id)
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what to sign and enter your password."))
    else:
        scope = form.cleaned_data["scope"]
        attempt(
            request,
            lambda: signature_sign(
                actor=request.user,
                request=request,
                password=form.cleaned_data["password"],
                participant=record.participant,
                scope=scope,
                form_code=code if scope == SignatureScope.FORM else "",
                record=record if scope == SignatureScope.FORM else None,
                visit=record.visit if scope == SignatureScope.VISIT else None,
                acknowledged=form.cleaned_data["acknowledged"],
                now=timezone.now(),
            ),
            _("Signed."),
        )
    return redirect(_record_url(participant_id, code, record_id, "signatures"))


# The signing desk ---------------------------------------------------------------------------


@login_required
def bulk_sign_view(request: HttpRequest) -> HttpResponse:
    """Completed visits awaiting the investigator's signature at their sites, signed together
    with one password entry: one signature per visit."""
    if not holds_role(request.user, {Role.INVESTIGATOR}):
        raise PermissionDeniedError(_("Only the investigator signs."))
    if request.method == "POST":
        form = BulkSignForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose the visits to sign and enter your password."))
        else:
            visits = visits_to_sign_get(request.user, form.cleaned_data["visit"])
            attempt(
                request,
                lambda: signature_sign_visits(
                    actor=request.user,
                    request=request,
                    password=form.cleaned_data["password"],
                    visits=visits,
                    acknowledged=form.cleaned_data["acknowledged"],
                    now=timezone.now(),
                ),
                ngettext("%(count)d visit signed.", "%(count)d visits signed.", len(visits))
                % {"count": len(visits)},
            )
        return redirect("review:bulk-sign")
    items, more = visits_to_sign(request.user)
    return render(
        request,
        "review/bulk_sign.html",
        {
            "items": items,
            "more": more,
            "meaning": SIGNATURE_MEANING,
            "any_outstanding": any(item.outstanding for item in items),
        },
    )


# Audit trail --------------------------------------------------------------------------------

# Changes a page of the audit trail shows: a participant's changes are read together, a
# visit's often spanning dozens of rows.
AUDIT_PAGE_SIZE = 200


def _audit(request: HttpRequest, participant_id: int) -> tuple[Any, AuditFilterForm, list[Any]]:
    """The participant and its audit trail as filtered, not yet recorded as shown."""
    participant = participant_get(request.user, participant_id)
    filters = AuditFilterForm(
        request.GET or None, forms_shown=audit_form_choices(request.user, participant)
    )
    chosen = filters.cleaned_data if filters.is_valid() else {}
    rows = audit_trail(
        request.user,
        participant,
        form_code=chosen.get("form") or None,
        user_filter=chosen.get("user") or None,
        since=chosen.get("since"),
        until=chosen.get("until"),
    )
    return participant, filters, rows


@login_required
@require_GET
def audit_trail_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant, filters, rows = _audit(request, participant_id)
    shown = page_shown(rows, request.GET.get("page"), size=AUDIT_PAGE_SIZE)
    # What reveals the arm is recorded as read when it is on the page shown.
    audit_trail_shown(
        user=request.user,
        participant=participant,
        rows=shown.object_list,
        path=request.path,
        now=timezone.now(),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "review/audit_trail.html",
        {
            "participant": participant,
            "filters": filters,
            "page": shown,
            "rows": shown.object_list,
            "query": query.urlencode(),
        },
    )


@login_required
@require_GET
def audit_trail_csv_view(request: HttpRequest, participant_id: int) -> StreamingHttpResponse:
    participant, _filters, rows = _audit(request, participant_id)
    audit_trail_shown(
        user=request.user, participant=participant, rows=rows, path=request.path, now=timezone.now()
    )
    response = StreamingHttpResponse(
        audit_trail_csv_lines(rows, timezone.get_current_timezone()),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-trail-{participant.identifier}.csv"'
    )
    return response

"""The coder's pages: the reported terms still to code, and one term to code, recode or query."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from assessments.rules.conmed import CONMED
from coding.models import CodedKind, Dictionary, DrugTerm, MeddraTerm
from coding.selectors import (
    DICTIONARY_OF,
    coded_records,
    coding_history,
    current_version,
    dictionary_search,
    record_coding,
    uncoded,
)
from coding.services import VERBATIM, coding_assign, coding_autocode, coding_query_site
from ecrf.access import CODING_ROLES
from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError
from ecrf.pagination import page_shown
from ecrf.views import attempt
from safety.rules import ADVERSE_EVENTS
from trials.workspace import current_membership

FORM_TYPES: dict[str, Any] = {CodedKind.ADVERSE_EVENT: ADVERSE_EVENTS, CodedKind.MEDICATION: CONMED}


def _coder_membership(request: HttpRequest) -> Any:
    membership = current_membership(request)
    if membership is None or membership.role not in CODING_ROLES:
        raise PermissionDeniedError(_("Your role in this trial does not include coding."))
    return membership


@login_required
@require_http_methods(["GET"])
def coding_list_view(request: HttpRequest) -> HttpResponse:
    membership = _coder_membership(request)
    kind = request.GET.get("kind", CodedKind.ADVERSE_EVENT)
    if kind not in CodedKind.values:
        kind = CodedKind.ADVERSE_EVENT
    trial = membership.trial
    counts = {k: uncoded(request.user, trial, k).count() for k in CodedKind.values}
    page = page_shown(
        uncoded(request.user, trial, kind), request.GET.get("page"), count=counts[kind]
    )
    tabs = [(k, label, counts[k]) for k, label in CodedKind.choices]
    context = {
        "membership": membership,
        "kind": kind,
        "tabs": tabs,
        "page": page,
        "query": f"kind={kind}",
        "verbatim_field": VERBATIM[kind],
        "versions": {label: current_version(code) for code, label in Dictionary.choices},
    }
    return render(request, "coding/list.html", context)


@login_required
@require_POST
def coding_autocode_view(request: HttpRequest) -> HttpResponse:
    membership = _coder_membership(request)
    try:
        done = coding_autocode(actor=request.user, trial=membership.trial, now=timezone.now())
    except (PermissionDeniedError, NotFoundError):
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(count)d reported terms coded by exact match.") % {"count": done}
        )
    return redirect("coding:list")


def _term(kind: str, term_id: str) -> MeddraTerm | DrugTerm:
    model: Any = MeddraTerm if kind == CodedKind.ADVERSE_EVENT else DrugTerm
    found = model.objects.filter(pk=term_id).first() if term_id.isdigit() else None
    if found is None:
        raise DomainError(_("Choose a term of the dictionary."))
    return found  # type: ignore[no-any-return]


@login_required
@require_http_methods(["GET", "POST"])
def coding_record_view(request: HttpRequest, form_code: str, record_id: int) -> HttpResponse:
    membership = _coder_membership(request)
    if form_code not in CodedKind.values:
        raise NotFoundError(_("Only adverse events and medications are coded."))
    record = coded_records(request.user, membership.trial, form_code).filter(pk=record_id).first()
    if record is None:
        raise NotFoundError(_("There is no such record to code in this trial."))
    here = reverse("coding:record", args=[form_code, record_id])
    if request.method == "POST":
        now = timezone.now()
        if request.POST.get("action") == "query":
            attempt(
                request,
                lambda: coding_query_site(
                    actor=request.user,
                    ftype=FORM_TYPES[form_code],
                    record=record,
                    text=request.POST.get("text", ""),
                    now=now,
                ),
                _("Query sent to the site."),
            )
        else:
            attempt(
                request,
                lambda: coding_assign(
                    actor=request.user,
                    kind=form_code,
                    record=record,
                    term=_term(form_code, request.POST.get("term", "")),
                    reason=request.POST.get("reason", ""),
                    now=now,
                ),
                _("Term coded."),
            )
        return redirect(here)
    verbatim = getattr(record, VERBATIM[form_code])
    search = request.GET.get("q", verbatim)
    coding = record_coding(form_code, record.pk)
    context = {
        "membership": membership,
        "kind": form_code,
        "kind_label": CodedKind(form_code).label,
        "record": record,
        "verbatim": verbatim,
        "search": search,
        "terms": dictionary_search(form_code, search),
        "coding": coding,
        "history": coding_history(coding),
        "version": current_version(DICTIONARY_OF[form_code]),
        "meddra": form_code == CodedKind.ADVERSE_EVENT,
    }
    return render(request, "coding/record.html", context)

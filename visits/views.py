"""Participant pages: the site's list, one participant's page with its schedule, its actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ecrf.access import SITE_STAFF_ROLES
from ecrf.errors import PermissionDeniedError
from trials.forms import (
    AnswerForm,
    CompleteForm,
    ConfirmForm,
    ConsentForm,
    Day0Form,
    EnrolForm,
    LostForm,
    ParticipantFilterForm,
    RandomizeForm,
    ReasonForm,
    ReconfirmForm,
    RegisterForm,
    UnblindForm,
    VisitRecordForm,
    WithdrawForm,
    submit,
)
from trials.models import Participant, ReadChannel
from trials.selectors import ChecklistItem, participant_get
from trials.services import (
    allocation_read,
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    eligibility_reconfirm,
    participant_complete,
    participant_enrol,
    participant_lost_to_follow_up,
    participant_randomize,
    participant_screen_fail,
    participant_unblind,
    participant_withdraw,
)
from trials.workspace import current_membership
from visits.selectors import participant_list, participant_overview
from visits.services import participant_register, participant_set_day0

PAGE_SIZE = 50


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def dose_label(cells_per_kg: float) -> str:
    """A dose in cells/kg the way the protocol prints it, with a times sign and superscript."""
    mantissa, exponent = f"{cells_per_kg:.6e}".split("e")
    superscript = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{float(mantissa):g}\N{MULTIPLICATION SIGN}10{superscript}"


# The participant list ----------------------------------------------------------------------


def _list_page(
    request: HttpRequest, *, register_form: RegisterForm | None = None, status: int = 200
) -> HttpResponse:
    membership = current_membership(request)
    context: dict[str, Any] = {"membership": membership}
    if membership is not None:
        filters = ParticipantFilterForm(request.GET or None)
        chosen = filters.cleaned_data["status"] if filters.is_valid() else None
        participants = participant_list(
            request.user, membership.trial, status=chosen or None, site=membership.site
        )
        page = Paginator(participants, PAGE_SIZE).get_page(request.GET.get("page"))
        can_register = membership.site is not None and membership.role in SITE_STAFF_ROLES
        context |= {
            "filters": filters,
            "page": page,
            "can_register": can_register,
            "register_form": register_form or RegisterForm(),
        }
    return render(request, "trials/participant_list.html", context, status=status)


@login_required
@require_GET
def participant_list_view(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@login_required
@require_POST
def participant_register_view(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None or membership.site is None:
        raise PermissionDeniedError(_("Choose a site to work in before registering participants."))
    site = membership.site
    form = RegisterForm(request.POST)
    participant = submit(
        form,
        lambda data: participant_register(
            actor=request.user, site=site, now=timezone.now(), **data
        ),
    )
    if participant is None:
        return _list_page(request, register_form=form, status=400)
    messages.success(
        request,
        _("%(number)s registered.") % {"number": participant.screening_number},
    )
    return redirect("trials:participant", participant_id=participant.pk)


# The participant page ----------------------------------------------------------------------


def _answer_form(item: ChecklistItem) -> AnswerForm:
    initial = {"comment": item.comment}
    if item.answer is not None:
        initial["answer"] = "yes" if item.answer else "no"
    return AnswerForm(prefix=item.code, initial=initial)


def participant_page(
    request: HttpRequest,
    participant: Participant,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the page; `bound` holds the one form that was refused, with what was typed."""
    bound = bound or {}
    now = timezone.now()
    overview = participant_overview(request.user, participant, now=now)
    # The pharmacist's product to prepare is shown, and its read recorded, with the page.
    treatment = (
        allocation_read(
            user=request.user,
            participant=participant,
            channel=ReadChannel.PAGE,
            path=request.path,
            now=now,
        )
        if overview.shows_treatment
        else None
    )
    answers = {
        item.code: bound.get(f"answer-{item.code}") or _answer_form(item)
        for item in overview.checklist.items
    }
    visit_forms = {
        row.visit.pk: bound.get(f"visit-{row.visit.pk}")
        or VisitRecordForm(prefix=f"visit-{row.visit.pk}")
        for row in overview.schedule
        if row.is_open
    }
    site = participant.site
    context = {
        "participant": participant,
        "overview": overview,
        "treatment": treatment,
        "site": site,
        "inclusion": [(item, answers[item.code]) for item in overview.checklist.inclusion],
        "exclusion": [(item, answers[item.code]) for item in overview.checklist.exclusion],
        "schedule": [(row, visit_forms.get(row.visit.pk)) for row in overview.schedule],
        "enrol_dose": dose_label(overview.open_cohort.dose_cells_per_kg)
        if overview.open_cohort
        else "",
        "consent_form": bound.get("consent") or ConsentForm(),
        "confirm_form": bound.get("confirm") or ConfirmForm(),
        "screen_fail_form": bound.get("screen-fail") or ReasonForm(prefix="screen-fail"),
        "enrol_form": bound.get("enrol") or EnrolForm(),
        "randomize_form": bound.get("randomize") or RandomizeForm(prefix="randomize"),
        "day0_form": bound.get("day0")
        or Day0Form(initial={"day0": participant.day0} if participant.day0 else None),
        "withdraw_form": bound.get("withdraw") or WithdrawForm(prefix="withdraw"),
        "lost_form": bound.get("lost") or LostForm(prefix="lost"),
        "complete_form": bound.get("complete") or CompleteForm(),
        "unblind_form": bound.get("unblind") or UnblindForm(),
    }
    return render(request, "trials/participant_detail.html", context, status=status)


@login_required
@require_GET
def participant_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    return participant_page(request, participant_get(request.user, participant_id))


def _participant_action(
    *,
    key: str,
    form_class: type[forms.Form],
    prefix: str | None = None,
    anchor: str,
    done: Any,
    service: Callable[..., Any],
) -> Callable[[HttpRequest, int], HttpResponse]:
    """A POST view: fetch the participant in the user's scope, run one service, show the page.

    On success the browser is sent back to the page (post/redirect/get); a refused rule
    shows the page again with the form as typed and the message beside it. A form's
    `confirm` box is the person's confirmation, checked by the form, not passed on.
    """

    @login_required
    @require_POST
    def view(request: HttpRequest, participant_id: int) -> HttpResponse:
        participant = participant_get(request.user, participant_id)
        form = form_class(request.POST, prefix=prefix)
        result = submit(
            form,
            lambda data: service(
                actor=request.user,
                participant=participant,
                now=timezone.now(),
                **{name: value for name, value in data.items() if name != "confirm"},
            ),
        )
        if result is None:
            return participant_page(request, participant, bound={key: form}, status=400)
        messages.success(request, done)
        return redirect(reverse("trials:participant", args=[participant_id]) + anchor)

    view.__name__ = f"participant_{key.replace('-', '_')}_view"
    return view


consent_view = _participant_action(
    key="consent",
    form_class=ConsentForm,
    anchor="#consent",
    done=gettext_lazy("Consent recorded."),
    service=consent_record,
)
confirm_view = _participant_action(
    key="confirm",
    form_class=ConfirmForm,
    anchor="#eligibility",
    done=gettext_lazy("Eligibility confirmed."),
    service=eligibility_confirm,
)
screen_fail_view = _participant_action(
    key="screen-fail",
    form_class=ReasonForm,
    prefix="screen-fail",
    anchor="#status",
    done=gettext_lazy("Screen failure recorded."),
    service=participant_screen_fail,
)
reconfirm_view = _participant_action(
    key="reconfirm",
    form_class=ReconfirmForm,
    anchor="#allocation",
    done=gettext_lazy("Criterion confirmed again for today."),
    service=eligibility_reconfirm,
)
randomize_view = _participant_action(
    key="randomize",
    form_class=RandomizeForm,
    prefix="randomize",
    anchor="#allocation",
    done=gettext_lazy("Participant randomized."),
    service=participant_randomize,
)
enrol_view = _participant_action(
    key="enrol",
    form_class=EnrolForm,
    anchor="#allocation",
    done=gettext_lazy("Participant enrolled in the cohort."),
    service=participant_enrol,
)
day0_view = _participant_action(
    key="day0",
    form_class=Day0Form,
    anchor="#schedule",
    done=gettext_lazy("Day 0 set; the visit schedule is ready."),
    service=participant_set_day0,
)
withdraw_view = _participant_action(
    key="withdraw",
    form_class=WithdrawForm,
    prefix="withdraw",
    anchor="#status",
    done=gettext_lazy("Participant withdrawn."),
    service=participant_withdraw,
)
lost_view = _participant_action(
    key="lost",
    form_class=LostForm,
    prefix="lost",
    anchor="#status",
    done=gettext_lazy("Loss to follow-up recorded."),
    service=participant_lost_to_follow_up,
)
complete_view = _participant_action(
    key="complete",
    form_class=CompleteForm,
    anchor="#status",
    done=gettext_lazy("Study completion recorded."),
    service=participant_complete,
)


@login_required
@require_POST
def eligibility_answer_view(request: HttpRequest, participant_id: int, code: str) -> HttpResponse:
    """Answer one criterion. With htmx only the criterion and the outcome are sent back."""
    participant = participant_get(request.user, participant_id)
    form = AnswerForm(request.POST, prefix=code)
    saved = submit(
        form,
        lambda data: eligibility_answer(
            actor=request.user,
            participant=participant,
            criterion_code=code,
            now=timezone.now(),
            **data,
        ),
    )
    if not is_htmx(request):
        if saved is None:
            return participant_page(
                request, participant, bound={f"answer-{code}": form}, status=400
            )
        return redirect(reverse("trials:participant", args=[participant_id]) + f"#criterion-{code}")
    overview = participant_overview(request.user, participant, checklist_only=True)
    item = overview.checklist.item(code)
    context = {
        "participant": participant,
        "overview": overview,
        "item": item,
        "form": form if saved is None else _answer_form(item),
        "saved": saved is not None,
        "oob": True,
        "confirm_form": ConfirmForm(),
    }
    return render(request, "trials/_criterion.html", context, status=400 if saved is None else 200)


@never_cache
@login_required
@require_GET
def allocation_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    """The arm on a page of its own, asked for deliberately; the gate decides and every
    showing is recorded. Refused readers get the 403 page."""
    participant = participant_get(request.user, participant_id)
    read = allocation_read(
        user=request.user,
        participant=participant,
        channel=ReadChannel.PAGE,
        path=request.path,
        now=timezone.now(),
    )
    response = render(request, "trials/allocation.html", {"participant": participant, "read": read})
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_POST
def unblind_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    """Emergency unblinding with the password entered again: the arm is shown on this
    response, and the unblinding and its read are recorded."""
    participant = participant_get(request.user, participant_id)
    form = UnblindForm(request.POST)
    unblinding = submit(
        form,
        lambda data: participant_unblind(
            actor=request.user,
            participant=participant,
            request=request,
            channel=ReadChannel.PAGE,
            path=request.path,
            now=timezone.now(),
            **data,
        ),
    )
    if unblinding is None:
        return participant_page(request, participant, bound={"unblind": form}, status=400)
    response = render(
        request,
        "trials/unblinded.html",
        {"participant": participant, "unblinding": unblinding},
    )
    response["Cache-Control"] = "no-store"
    return response

"""Web pages of the casebook: the visits x forms grid, data entry, history and logs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assessments.blinding import revealing_read_record
from assessments.forms import NotDoneForm, entry_form_class
from assessments.forms_kit import MANY_RECORDS
from assessments.registry import FormType, form_type
from assessments.selectors import (
    can_read,
    casebook_grid,
    display_value,
    editable_fields,
    form_history,
    form_record,
    form_records,
    form_values,
    readable_form_types,
    revealing_fields,
    visible_fields,
)
from assessments.services import form_not_done, form_save
from ecrf.errors import DomainError
from trials.selectors import participant_get
from visits.selectors import visit_get


def _participant_and_type(
    request: HttpRequest, participant_id: int, code: str
) -> tuple[Any, FormType]:
    participant = participant_get(request.user, participant_id)
    try:
        ftype = form_type(code)
    except DomainError:
        raise Http404 from None
    if not can_read(request.user, ftype, participant):
        raise Http404
    return participant, ftype


@login_required
def casebook(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = participant_get(request.user, participant_id)
    labels = {ft.code: ft.label for ft in readable_form_types(request.user, participant)}
    return render(
        request,
        "assessments/casebook.html",
        {
            "participant": participant,
            "rows": casebook_grid(participant, user=request.user),
            "labels": labels,
        },
    )


def _shown(request: HttpRequest, ftype: FormType, participant: Any) -> None:
    """This page shows the form's values: record the arm read if they reveal it."""
    revealing_read_record(
        user=request.user,
        participant=participant,
        ftypes=[ftype],
        path=request.path,
        now=timezone.now(),
    )


def _apply_errors(form: Any, error: DomainError) -> None:
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        target = name if name in form.fields else None
        for problem in problems:
            form.add_error(target, problem if target else f"{name}: {problem}")


@login_required
def entry(
    request: HttpRequest, participant_id: int, code: str, record_id: int | None = None
) -> HttpResponse:
    """Enter a new form (visit given by ?visit=) or change an existing one."""
    participant, ftype = _participant_and_type(request, participant_id, code)
    visit = None
    instance = None
    if record_id is not None:
        instance = ftype.model.objects.filter(participant=participant, pk=record_id).first()
        if instance is None:
            raise Http404
        visit = instance.visit
    else:
        visit_id = request.GET.get("visit") or request.POST.get("visit")
        visit = visit_get(request.user, visit_id) if visit_id else None
        if visit is not None and visit.participant_id != participant.pk:
            raise Http404
        if ftype.scope not in MANY_RECORDS:
            instance = form_record(ftype, participant, visit=visit, record_id=None)
    editable = editable_fields(request.user, ftype, participant)
    form_class = entry_form_class(ftype, editable)
    status_code = 200
    if request.method == "POST":
        form = form_class(request.POST, instance=instance)
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in editable if name in form.cleaned_data}
            try:
                saved = form_save(
                    actor=request.user,
                    form_code=ftype.code,
                    participant=participant,
                    visit=visit,
                    record_id=instance.pk
                    if instance is not None and ftype.scope in MANY_RECORDS
                    else None,
                    data=data,
                    expected_version=form.cleaned_data.get("row_version")
                    if instance is not None
                    else None,
                    reason=form.cleaned_data.get("reason") or "",
                    now=timezone.now(),
                )
            except DomainError as error:
                _apply_errors(form, error)
                status_code = error.status_code
            else:
                messages.success(request, _("%(form)s saved.") % {"form": ftype.label})
                if saved.warnings:
                    messages.warning(request, _("Saved with warnings; please review them."))
                return redirect(
                    "casebook:entry-edit",
                    participant_id=participant.pk,
                    code=ftype.code,
                    record_id=saved.pk,
                )
        else:
            status_code = 400
    else:
        form = form_class(
            instance=instance, initial={"row_version": instance.row_version if instance else None}
        )
    readonly = [
        (ftype.model._meta.get_field(name).verbose_name, display_value(getattr(instance, name)))
        for name in visible_fields(request.user, ftype, participant)
        if instance is not None and name not in editable
    ]
    fieldsets = [
        (title, [form[name] for name in names if name in form.fields])
        for title, names in (ftype.fieldsets or (("", tuple(editable)),))
    ]
    if instance is not None:
        _shown(request, ftype, participant)
    return render(
        request,
        "assessments/entry.html",
        {
            "participant": participant,
            "ftype": ftype,
            "visit": visit,
            "instance": instance,
            "form": form,
            "fieldsets": [(title, fields) for title, fields in fieldsets if fields],
            "readonly": readonly,
            "derivation": ftype.explain(instance) if instance is not None else "",
            "can_edit": bool(editable),
            "not_done_form": NotDoneForm(
                initial={"row_version": instance.row_version if instance else None}
            ),
        },
        status=status_code,
    )


@login_required
@require_POST
def not_done(request: HttpRequest, participant_id: int, code: str) -> HttpResponse:
    participant, ftype = _participant_and_type(request, participant_id, code)
    visit = visit_get(request.user, request.POST.get("visit"))
    form = NotDoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the form was not done."))
    else:
        try:
            form_not_done(
                actor=request.user,
                form_code=ftype.code,
                participant=participant,
                visit=visit,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data.get("row_version"),
                now=timezone.now(),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(form)s recorded as not done.") % {"form": ftype.label})
    return redirect("casebook:grid", participant_id=participant.pk)


@login_required
def history(request: HttpRequest, participant_id: int, code: str, record_id: int) -> HttpResponse:
    participant, ftype = _participant_and_type(request, participant_id, code)
    instance = ftype.model.objects.filter(participant=participant, pk=record_id).first()
    if instance is None:
        raise Http404
    labels = {
        f.name: f.verbose_name for f in ftype.model._meta.get_fields() if hasattr(f, "verbose_name")
    }
    _shown(request, ftype, participant)
    return render(
        request,
        "assessments/history.html",
        {
            "participant": participant,
            "ftype": ftype,
            "instance": instance,
            "entries": form_history(request.user, ftype, instance),
            "labels": labels,
        },
    )


@login_required
def log(request: HttpRequest, participant_id: int, code: str) -> HttpResponse:
    participant, ftype = _participant_and_type(request, participant_id, code)
    shown = visible_fields(request.user, ftype, participant)[:6]
    records = [
        (r, [form_values(request.user, ftype, r).get(name) for name in shown])
        for r in form_records(ftype, participant)
    ]
    headers = [ftype.model._meta.get_field(name).verbose_name for name in shown]
    if records and set(shown) & revealing_fields(ftype, participant):
        _shown(request, ftype, participant)
    return render(
        request,
        "assessments/log.html",
        {
            "participant": participant,
            "ftype": ftype,
            "records": records,
            "headers": headers,
            "can_add": bool(editable_fields(request.user, ftype, participant)),
        },
    )

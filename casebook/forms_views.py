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

from assessments.forms_kit import MANY_RECORDS, FormType
from assessments.selectors import (
    can_read,
    display_value,
    editable_fields,
    form_history,
    form_record,
    form_record_get,
    form_records,
    revealing_fields,
    visible_fields,
)
from assessments.services import form_not_done, form_preview, form_save
from casebook.catalogue import form_type
from casebook.entry_forms import NotDoneForm, entry_form_class
from casebook.grid import LEGEND, casebook_page
from casebook.live_preview import Message, live_preview
from casebook.reads import form_shown
from casebook.review_selectors.signing import marks_a_change_voids
from ecrf.errors import DomainError, NotFoundError, PermissionDeniedError
from trials.definitions import definition_of
from trials.models import Participant
from trials.selectors import participant_get
from visits.models import Visit
from visits.selectors import visit_get

# A log lists the first fields of each record; the record's own page shows them all.
LOG_COLUMNS = 6


def _participant_and_type(
    request: HttpRequest, participant_id: int, form_code: str
) -> tuple[Participant, FormType]:
    participant = participant_get(request.user, participant_id)
    try:
        ftype = form_type(form_code)
    except DomainError:
        raise Http404 from None
    if not can_read(request.user, ftype, participant):
        raise Http404
    return participant, ftype


def _record(ftype: FormType, participant: Participant, record_id: int) -> Any:
    try:
        return form_record_get(ftype, participant, record_id)
    except NotFoundError:
        raise Http404 from None


@login_required
def casebook(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = participant_get(request.user, participant_id)
    return render(
        request,
        "assessments/casebook.html",
        {
            "participant": participant,
            "casebook": casebook_page(participant, user=request.user, now=timezone.now()),
            "legend": LEGEND,
        },
    )


def _apply_errors(form: Any, error: DomainError) -> None:
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        target = name if name in form.fields else None
        for problem in problems:
            form.add_error(target, problem if target else f"{name}: {problem}")


@login_required
def entry(
    request: HttpRequest, participant_id: int, form_code: str, record_id: int | None = None
) -> HttpResponse:
    """Enter a new form (visit given by ?visit=) or change an existing one."""
    participant, ftype = _participant_and_type(request, participant_id, form_code)
    visit, instance = _entry_target(request, ftype, participant, record_id)
    editable = editable_fields(request.user, ftype, participant)
    form_class = entry_form_class(ftype, editable)
    status_code = 200
    if request.method == "POST":
        # Read before the form, which writes what was sent onto the instance.
        kept = _kept(instance, editable)
        form = form_class(request.POST, instance=instance)
        status_code = 400
        if form.is_valid():
            try:
                saved = _entry_save(
                    request,
                    form,
                    ftype,
                    participant,
                    visit,
                    instance,
                    _entered(form, editable, kept),
                )
            except DomainError as error:
                _apply_errors(form, error)
                status_code = error.status_code
            else:
                return _saved(request, ftype, participant, saved)
    else:
        initial = {} if instance else ftype.initial(definition_of(participant.protocol_version))
        form = form_class(
            instance=instance,
            initial={
                **initial,
                **{name: words for name, (_english, words) in _kept(instance, editable).items()},
                "row_version": instance.row_version if instance else None,
            },
        )
    if instance is not None:
        form_shown(request, ftype, participant)
    return render(
        request,
        "assessments/entry.html",
        _entry_page(request, ftype, participant, visit, instance, form, editable),
        status=status_code,
    )


def _entry_target(
    request: HttpRequest, ftype: FormType, participant: Participant, record_id: int | None
) -> tuple[Visit | None, Any]:
    """The visit and the record the entry page is about: the record named, or for a new entry
    the visit asked for and the record it already has of a form entered once there."""
    if record_id is not None:
        instance = _record(ftype, participant, record_id)
        return instance.visit, instance
    visit_id = request.GET.get("visit") or request.POST.get("visit")
    visit = visit_get(request.user, visit_id) if visit_id else None
    if visit is not None and visit.participant_id != participant.pk:
        raise Http404
    if ftype.scope in MANY_RECORDS:
        return visit, None
    return visit, form_record(ftype, participant, visit=visit, record_id=None)


def _entry_save(
    request: HttpRequest,
    form: Any,
    ftype: FormType,
    participant: Participant,
    visit: Visit | None,
    instance: Any,
    data: dict[str, Any],
) -> Any:
    """Save what the user entered (`data`) through the form service, as a change of
    `instance` when there is one."""
    return form_save(
        actor=request.user,
        ftype=ftype,
        participant=participant,
        visit=visit,
        record_id=instance.pk if instance is not None and ftype.scope in MANY_RECORDS else None,
        data=data,
        expected_version=form.cleaned_data.get("row_version") if instance is not None else None,
        reason=form.cleaned_data.get("reason") or "",
        now=timezone.now(),
    )


def _entered(
    form: Any, editable: list[str], kept: dict[str, tuple[str, str]] | None = None
) -> dict[str, Any]:
    data = {name: form.cleaned_data[name] for name in editable if name in form.cleaned_data}
    # A drafted text offered in the reader's language and sent back unchanged is not a change:
    # the record keeps its English text, worded for each reader.
    for name, (english, words) in (kept or {}).items():
        if data.get(name) == words:
            data[name] = english
    return data


def _kept(instance: Any, names: list[str]) -> dict[str, tuple[str, str]]:
    """The fields of `names` that the record words in the reader's language (a `shown_<name>`
    property, as a drafted deviation's description): their stored text and as the reader
    reads it."""
    if instance is None:
        return {}
    return {
        name: (getattr(instance, name), getattr(instance, f"shown_{name}"))
        for name in names
        if hasattr(type(instance), f"shown_{name}")
    }


def _value(instance: Any, name: str) -> Any:
    """A field's value as the reader reads it: worded in their language when the record
    keeps it so."""
    return getattr(instance, f"shown_{name}", None) or getattr(instance, name)


@login_required
@require_POST
def preview(
    request: HttpRequest, participant_id: int, form_code: str, record_id: int | None = None
) -> HttpResponse:
    """The edit checks and derived values of the form as typed so far, by the rules a save
    runs; nothing is saved. Only for those who may enter the form for this participant."""
    participant, ftype = _participant_and_type(request, participant_id, form_code)
    visit, instance = _entry_target(request, ftype, participant, record_id)
    editable = editable_fields(request.user, ftype, participant)
    if not editable:
        raise PermissionDeniedError(_("Your role does not allow you to enter this form."))
    form = entry_form_class(ftype, editable)(request.POST, instance=instance)
    shown = None
    problem = ""
    if not form.is_valid():
        problem = _("Some values cannot be read yet; correct them to see the results.")
        typed = [
            Message(str(form[name].label), str(text))
            for name, texts in form.errors.items()
            if name in form.fields
            for text in texts
        ]
    else:
        typed = []
        data = _entered(form, editable)
        try:
            result = form_preview(
                actor=request.user,
                ftype=ftype,
                participant=participant,
                visit=visit,
                record_id=instance.pk if instance is not None else None,
                data=data,
                now=timezone.now(),
            )
        except PermissionDeniedError:
            raise
        except DomainError as error:
            problem = error.message
        else:
            hidden = revealing_fields(ftype, participant)
            shown = live_preview(ftype, result, hidden=hidden, entered=set(data))
    return render(
        request,
        "assessments/_preview.html",
        {"ftype": ftype, "preview": shown, "problem": problem, "typed": typed},
    )


def _saved(
    request: HttpRequest, ftype: FormType, participant: Participant, saved: Any
) -> HttpResponse:
    # Tagged so that the page knows the form was saved and forgets the draft it kept.
    messages.success(
        request, _("%(form)s saved.") % {"form": _(ftype.label)}, extra_tags="form-saved"
    )
    if saved.warnings:
        messages.warning(request, _("Saved with warnings; please review them."))
    return redirect(
        "casebook:entry-edit",
        participant_id=participant.pk,
        form_code=ftype.code,
        record_id=saved.pk,
    )


def _entry_page(
    request: HttpRequest,
    ftype: FormType,
    participant: Participant,
    visit: Visit | None,
    instance: Any,
    form: Any,
    editable: list[str],
) -> dict[str, Any]:
    """The entry page: the form in its fieldsets, and the values the user reads but does not
    enter (derived ones, or those of other roles)."""
    readonly = [
        (
            _(str(ftype.model._meta.get_field(name).verbose_name)),
            display_value(_value(instance, name)),
        )
        for name in visible_fields(request.user, ftype, participant)
        if instance is not None and name not in editable
    ]
    fieldsets = [
        (_(title) if title else "", [form[name] for name in names if name in form.fields])
        for title, names in (ftype.fieldsets or (("", tuple(editable)),))
    ]
    return {
        "participant": participant,
        "ftype": ftype,
        "visit": visit,
        "instance": instance,
        "form": form,
        "fieldsets": [(title, fields) for title, fields in fieldsets if fields],
        "required": set(ftype.required) & set(editable),
        "error_summary": _error_summary(form),
        "readonly": readonly,
        "derivation": ftype.explain(instance) if instance is not None else "",
        "suggestion": ftype.suggest(visit) if visit is not None else "",
        "can_edit": bool(editable),
        "voids": marks_a_change_voids(instance) if instance is not None and editable else [],
        "not_done_form": NotDoneForm(
            initial={"row_version": instance.row_version if instance else None}
        ),
    }


def _error_summary(form: Any) -> list[tuple[str, str, str]]:
    """The fields a refused save has errors on, in the form's order: each field's id, label and
    message, for the summary at the top of the form that links to them."""
    if not form.is_bound:
        return []
    return [
        (form[name].id_for_label, str(form[name].label), str(problem))
        for name in form.fields
        if name != "row_version"
        for problem in form.errors.get(name, ())
    ]


@login_required
@require_POST
def not_done(request: HttpRequest, participant_id: int, form_code: str) -> HttpResponse:
    participant, ftype = _participant_and_type(request, participant_id, form_code)
    visit = visit_get(request.user, request.POST.get("visit"))
    form = NotDoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the form was not done."))
    else:
        try:
            form_not_done(
                actor=request.user,
                ftype=ftype,
                participant=participant,
                visit=visit,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data.get("row_version"),
                now=timezone.now(),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("%(form)s recorded as not done.") % {"form": _(ftype.label)}
            )
    return redirect("casebook:grid", participant_id=participant.pk)


@login_required
def history(
    request: HttpRequest, participant_id: int, form_code: str, record_id: int
) -> HttpResponse:
    participant, ftype = _participant_and_type(request, participant_id, form_code)
    instance = _record(ftype, participant, record_id)
    labels = {
        f.name: f.verbose_name for f in ftype.model._meta.get_fields() if hasattr(f, "verbose_name")
    }
    form_shown(request, ftype, participant)
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
def log(request: HttpRequest, participant_id: int, form_code: str) -> HttpResponse:
    participant, ftype = _participant_and_type(request, participant_id, form_code)
    # The blinding is read once for the participant: `shown` leaves out what would unblind.
    shown = visible_fields(request.user, ftype, participant)[:LOG_COLUMNS]
    records = [(r, [_value(r, name) for name in shown]) for r in form_records(ftype, participant)]
    headers = [ftype.model._meta.get_field(name).verbose_name for name in shown]
    if records and set(shown) & revealing_fields(ftype, participant):
        form_shown(request, ftype, participant)
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

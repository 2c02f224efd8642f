"""API for case report forms: the casebook grid, and for the form named in the path: its
records, entry, change, not done and history. Blinded users never receive allocation-revealing
fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.forms_kit import FormType
from assessments.models import EntryStatus
from assessments.selectors import (
    can_read,
    form_history,
    form_record_get,
    form_records,
    visible_fields,
)
from assessments.services import form_not_done, form_save
from casebook.catalogue import form_type
from casebook.forms_schema import FormOperationSchema, form_operation
from casebook.forms_serializers import (
    FormChangeInput,
    FormCreateInput,
    FormNotDoneInput,
    FormRecord,
    GridRowOutput,
    HistoryEntryOutput,
    serializers_of,
)
from casebook.grid import casebook_grid
from casebook.reads import form_shown
from casebook.site_clock import site_clock_start
from ecrf.errors import NotFoundError
from trials.access import memberships_read_once
from trials.models import Participant
from trials.selectors import participant_get, participant_get_for_update
from visits.selectors import visit_get


class CasebookView(APIView):
    @extend_schema(
        responses=GridRowOutput(many=True), summary="Casebook grid: visits x expected forms"
    )
    def get(self, request: Request, participant_id: int) -> Response:
        participant = participant_get(request.user, participant_id)
        rows = casebook_grid(participant, user=request.user)
        return Response(GridRowOutput(rows, many=True).data)


def _hidden(user: Any, ftype: FormType, participant: Participant) -> set[str]:
    """The form's fields this user may not receive for this participant: they would unblind."""
    shown = set(visible_fields(user, ftype, participant))
    return (set(ftype.fields) | set(ftype.derived)) - shown


def _entered_at_visits(participant: Participant) -> Callable[[str, Any], Any]:
    """`(form_code, visit) -> entered record or None` for a list of records, as the rules'
    context takes it: one query per form asked about, whatever the number of visits (the
    first record entered at a visit, as the rules read it one by one)."""
    found: dict[str, dict[int, Any]] = {}

    def record(code: str, visit: Any) -> Any:
        if code not in found:
            rows = (
                form_type(code)
                .model.objects.filter(participant=participant, entry_status=EntryStatus.ENTERED)
                .order_by("-pk")
            )
            found[code] = {row.visit_id: row for row in rows}
        return found[code].get(visit.pk)

    return record


def _output(
    user: Any,
    ftype: FormType,
    instance: Any,
    *,
    hidden: set[str] | None = None,
    records: Callable[[str, Any], Any] | None = None,
) -> dict[str, Any]:
    """A record as this user receives it: without the fields that would unblind them. A list
    passes the fields hidden and the visits' other records once for all its records."""
    data = serializers_of(ftype).record(instance).data
    if hidden is None:
        hidden = _hidden(user, ftype, instance.participant)
    result = {key: value for key, value in data.items() if key not in hidden}
    result["derivation"] = ftype.explain(instance)
    result["suggestion"] = (
        ftype.suggest(instance.visit, records) if getattr(instance, "visit_id", None) else ""
    )
    return result


class FormView(APIView):
    """A route of every form, the form's code in the path. The schema lists it once per form,
    with that form's bodies (see casebook.forms_schema)."""

    schema = FormOperationSchema()
    # The form a copy of the route documents, set by the schema's preprocessing hook.
    documented_form = ""

    # The participant is read first, and the clock of their site started from it
    # (casebook.site_clock): before the body is read and before any time is shown.
    site_clock_in_view = True

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # Which participants the user sees, may they read the form, then may they enter its
        # fields: their memberships are read once for all three. No form route grants or ends
        # a membership.
        with memberships_read_once():
            return super().dispatch(request, *args, **kwargs)

    def _readable(
        self, user: Any, form_code: str, participant_id: int, *, for_update: bool = False
    ) -> tuple[FormType, Participant]:
        """The form named in the path and the participant, when the user may read that form;
        the zone of the participant's site is the current one from here on
        (casebook.site_clock). `for_update` reads the participant locked, in the caller's
        transaction, for the save to join (`form_save(participant_locked=True)`)."""
        ftype = form_type(form_code)
        read = participant_get_for_update if for_update else participant_get
        participant = read(user, participant_id)
        site_clock_start(self.request, participant.site.time_zone)
        if not can_read(user, ftype, participant):
            raise NotFoundError(f"{ftype.label} is not available to your role.")
        return ftype, participant


class FormRecordsView(FormView):
    @form_operation("records of a participant", responses=FormRecord(many=True))
    def get(self, request: Request, participant_id: int, form_code: str) -> Response:
        ftype, participant = self._readable(request.user, form_code, participant_id)
        # The participant, the blinding and the visits' other forms are read once for the list:
        # the query count does not grow with the records.
        hidden = _hidden(request.user, ftype, participant)
        others = _entered_at_visits(participant)
        records = [
            _output(request.user, ftype, r, hidden=hidden, records=others)
            for r in form_records(ftype, participant)
        ]
        if records:
            form_shown(request, ftype, participant)
        return Response(records)

    @form_operation("enter", request=FormCreateInput, responses={201: FormRecord})
    def post(self, request: Request, participant_id: int, form_code: str) -> Response:
        # As a change: one transaction from the participant's read, locked (see `put`).
        with transaction.atomic():
            ftype, participant = self._readable(
                request.user, form_code, participant_id, for_update=True
            )
            params = FormCreateInput(data=request.data, ftype=ftype)
            params.is_valid(raise_exception=True)
            visit_id = params.validated_data.get("visit")
            instance = form_save(
                actor=request.user,
                ftype=ftype,
                participant=participant,
                visit=visit_get(request.user, visit_id) if visit_id else None,
                participant_locked=True,
                data=params.validated_data["data"],
                now=timezone.now(),
            )
        form_shown(request, ftype, participant)
        return Response(_output(request.user, ftype, instance), status=status.HTTP_201_CREATED)


class FormRecordView(FormView):
    @form_operation("one record", responses=FormRecord)
    def get(
        self, request: Request, participant_id: int, form_code: str, record_id: int
    ) -> Response:
        ftype, participant = self._readable(request.user, form_code, participant_id)
        instance = form_record_get(ftype, participant, record_id)
        form_shown(request, ftype, participant)
        return Response(_output(request.user, ftype, instance))

    @form_operation("change (with reason)", request=FormChangeInput, responses={200: FormRecord})
    def put(
        self, request: Request, participant_id: int, form_code: str, record_id: int
    ) -> Response:
        # One transaction from the participant's read: read locked, it is the row the save
        # locks (its first consent read with it), and the save joins the transaction.
        with transaction.atomic():
            ftype, participant = self._readable(
                request.user, form_code, participant_id, for_update=True
            )
            params = FormChangeInput(data=request.data, ftype=ftype)
            params.is_valid(raise_exception=True)
            # The record is read once, locked by the save with its visit: not found there, it
            # is not found.
            saved = form_save(
                actor=request.user,
                ftype=ftype,
                participant=participant,
                record_id=record_id,
                at_its_visit=True,
                participant_locked=True,
                data=params.validated_data["data"],
                expected_version=params.validated_data["version"],
                reason=params.validated_data["reason"],
                now=timezone.now(),
            )
        form_shown(request, ftype, participant)
        return Response(_output(request.user, ftype, saved))


class FormNotDoneView(FormView):
    @form_operation("mark not done", request=FormNotDoneInput, responses={200: FormRecord})
    def post(self, request: Request, participant_id: int, form_code: str) -> Response:
        ftype, participant = self._readable(request.user, form_code, participant_id)
        params = FormNotDoneInput(data=request.data)
        params.is_valid(raise_exception=True)
        saved = form_not_done(
            actor=request.user,
            ftype=ftype,
            participant=participant,
            visit=visit_get(request.user, params.validated_data["visit"]),
            reason=params.validated_data["reason"],
            expected_version=params.validated_data["version"],
            now=timezone.now(),
        )
        form_shown(request, ftype, participant)
        return Response(_output(request.user, ftype, saved))


class FormHistoryView(FormView):
    @form_operation(
        "history (who, when, old -> new, reason)",
        responses=HistoryEntryOutput(many=True),
        parameters=(OpenApiParameter("record_id", int, OpenApiParameter.PATH),),
    )
    def get(
        self, request: Request, participant_id: int, form_code: str, record_id: int
    ) -> Response:
        ftype, participant = self._readable(request.user, form_code, participant_id)
        instance = form_record_get(ftype, participant, record_id)
        form_shown(request, ftype, participant)
        return Response(
            HistoryEntryOutput(form_history(request.user, ftype, instance), many=True).data
        )

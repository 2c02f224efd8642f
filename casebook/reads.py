"""The arm read a page or an API response records when it shows a form's revealing values."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from assessments.blinding import revealing_read_record
from assessments.forms_kit import FormType
from trials.models import Participant


def form_shown(request: HttpRequest, ftype: FormType, participant: Participant) -> None:
    """This answer shows the form's values: record the arm read if they reveal it."""
    revealing_read_record(
        user=request.user,
        participant=participant,
        ftypes=[ftype],
        path=request.path,
        now=timezone.now(),
    )

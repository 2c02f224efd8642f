"""Form of the exports page: request an export in a format, as of an instant, maybe unblinded."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from exports.models import ExportFormat, ExportRawLayout


class ExportRequestForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=ExportFormat.choices)
    as_of = forms.DateTimeField(
        label=_("As of (UTC)"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}),
        help_text=_("Rebuild the data as they stood at this instant. Empty: now."),
    )
    raw_layout = forms.ChoiceField(
        label=_("Raw tables"),
        choices=[("", _("None")), *ExportRawLayout.choices],
        required=False,
        help_text=_(
            "One table per form as entered, with labels, the review state and programs that "
            "load them in SAS, R and Stata."
        ),
    )
    unblinded = forms.BooleanField(
        label=_("Unblinded export (reveals the allocation)"), required=False
    )

    def __init__(self, *args: Any, allow_unblinded: bool, **kwargs: Any) -> None:
        """`allow_unblinded`: the person is an unblinded statistician; others never see it."""
        super().__init__(*args, **kwargs)
        if not allow_unblinded:
            del self.fields["unblinded"]

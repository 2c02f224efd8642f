"""Django forms for data entry, built from a form type and the fields the user may enter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from assessments.forms_kit import FormType


def _widget(field: models.Field) -> Any:
    if isinstance(field, models.DateTimeField):
        return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    if isinstance(field, models.DateField):
        return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    if isinstance(field, models.TimeField):
        return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    if isinstance(field, models.BooleanField) and field.null:
        return forms.NullBooleanSelect()
    return None


class EntryForm(forms.ModelForm):
    """Data entry of a form; the reason and the version read ride along for changes."""

    row_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when changing data already entered."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Required-ness is an edit check of the service, shown in place when it fails.
        for field in self.fields.values():
            field.required = False


def entry_form_class(ftype: FormType, editable: list[str]) -> type[forms.ModelForm]:
    """A ModelForm of the form's model over the inputs this user may enter."""
    widgets = {
        name: widget
        for name in editable
        if (widget := _widget(ftype.model._meta.get_field(name))) is not None
    }
    return forms.modelform_factory(ftype.model, form=EntryForm, fields=editable, widgets=widgets)


class NotDoneForm(forms.Form):
    reason = forms.CharField(
        label=_("Why was it not done?"), widget=forms.Textarea(attrs={"rows": 2})
    )
    row_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

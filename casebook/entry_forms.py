"""Django forms for data entry, built from a form type and the fields the user may enter."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assessments.forms_kit import FormType
from ecrf.site_time import AmbiguousLocalTime, NonexistentLocalTime, local_instant, offset_text

# The name of the choice between the two occurrences of a time the clocks showed twice.
OFFSET_SUFFIX = "_offset"
OFFSET = re.compile(r"[+-]\d\d:\d\d")


def _wall_and_offset(value: Any) -> tuple[Any, str]:
    """The time as read off the site's clock, and its offset when one is known."""
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip()) or value
        except ValueError:
            return value, ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        local = value.astimezone(timezone.get_current_timezone())
        return local.replace(tzinfo=None), offset_text(local.utcoffset())
    return value, ""


class SiteDateTimeInput(forms.DateTimeInput):
    """A date and time on the site's clock; on the night the clocks go back, also which of the
    two occurrences of the time it was, as its offset."""

    def __init__(self) -> None:
        super().__init__(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        value = data.get(name)
        offset = data.get(f"{name}{OFFSET_SUFFIX}") or ""
        if isinstance(value, str) and value.strip() and OFFSET.fullmatch(offset):
            return f"{value.strip()}{offset}"
        return value

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> Any:
        wall, chosen = _wall_and_offset(value)
        html = super().render(name, wall, attrs, renderer)
        if not isinstance(wall, datetime):
            return html
        try:
            local_instant(wall, timezone.get_current_timezone_name())
        except AmbiguousLocalTime as twice:
            return html + format_html(
                '<select name="{}" aria-label="{}"><option value="">{}</option>'
                '<option value="{}"{}>{}</option><option value="{}"{}>{}</option></select>',
                f"{name}{OFFSET_SUFFIX}",
                _("Which occurrence of this time"),
                _("Which one?"),
                twice.earlier,
                " selected" if chosen == twice.earlier else "",
                _("the first (UTC%(offset)s)") % {"offset": twice.earlier},
                twice.later,
                " selected" if chosen == twice.later else "",
                _("the second (UTC%(offset)s)") % {"offset": twice.later},
            )
        except NonexistentLocalTime:
            pass
        return html


class SiteDateTimeField(forms.DateTimeField):
    """A date and time typed on the site's clock (the current time zone), refused when the
    clocks skipped it, and on the night they go back refused until its occurrence is chosen."""

    widget = SiteDateTimeInput

    def prepare_value(self, value: Any) -> Any:
        # Kept aware, so that the widget knows which occurrence a stored time is.
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(timezone.get_current_timezone())
        return value

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        parsed = value if isinstance(value, datetime) else None
        if parsed is None:
            try:
                parsed = parse_datetime(str(value).strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_aware(parsed):
            return parsed
        try:
            return local_instant(parsed, timezone.get_current_timezone_name())
        except AmbiguousLocalTime as twice:
            raise ValidationError(
                _(
                    "%(problem)s Choose beside the time whether it was the first (UTC%(earlier)s) "
                    "or the second (UTC%(later)s), and save again."
                )
                % {"problem": twice.message, "earlier": twice.earlier, "later": twice.later},
                code="ambiguous_local_time",
            ) from None
        except NonexistentLocalTime as skipped:
            raise ValidationError(skipped.message, code="nonexistent_local_time") from None


def _widget(field: models.Field) -> Any:
    if isinstance(field, models.DateTimeField):
        return SiteDateTimeInput()
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
            # Labels built from code-defined English texts (the SLEDAI-2K descriptors) are
            # stored English; they are translated here, for the page only.
            if field.label:
                field.label = gettext(str(field.label))
            if field.help_text:
                field.help_text = gettext(str(field.help_text))


def entry_form_class(ftype: FormType, editable: list[str]) -> type[forms.ModelForm]:
    """A ModelForm of the form's model over the inputs this user may enter."""
    widgets = {
        name: widget
        for name in editable
        if (widget := _widget(ftype.model._meta.get_field(name))) is not None
    }
    field_classes: Any = {
        name: SiteDateTimeField
        for name in editable
        if isinstance(ftype.model._meta.get_field(name), models.DateTimeField)
    }
    # Numbers are typed with the language's decimal separator ("1,1" in Spanish); the API
    # keeps the point only, since its serializers do not localize.
    localized = [
        name
        for name in editable
        if isinstance(ftype.model._meta.get_field(name), models.DecimalField | models.FloatField)
    ]
    return forms.modelform_factory(
        ftype.model,
        form=EntryForm,
        fields=editable,
        widgets=widgets,
        field_classes=field_classes,
        localized_fields=localized,
    )


class NotDoneForm(forms.Form):
    reason = forms.CharField(
        label=_("Why was it not done?"), widget=forms.Textarea(attrs={"rows": 2})
    )
    row_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

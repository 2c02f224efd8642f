"""Small template filters shared by the pages."""

from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst

from ecrf.messages import warning_shown

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`{{ labels|get_item:code }}`: look a key up in a dict."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def warning_text(warning: Any) -> str:
    """`{{ warning|warning_text }}`: a warning kept on a form, in the reader's language."""
    return warning_shown(warning) if hasattr(warning, "get") else str(warning)


@register.filter
def field_label(instance: Any, name: str) -> str:
    """`{{ record|field_label:name }}`: the label of one of a record's fields, as the form shows
    it; a message about the whole form names no field."""
    try:
        return str(capfirst(instance._meta.get_field(name).verbose_name))
    except (AttributeError, FieldDoesNotExist):
        return ""

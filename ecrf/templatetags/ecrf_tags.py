"""Small template filters shared by the pages."""

from typing import Any

from django import template

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

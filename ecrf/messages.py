"""Texts kept in English and read in the reader's language: a template marked for translation
and its parameters, stored beside the English text and put into words when shown.

A template is a `gettext_noop` msgid with `%(name)s` placeholders. A parameter is one of:
- a string, shown as given (a code, a reported term, a date or a time already on the site's
  clock: stored texts are written in the site's zone when they are made);
- a number, shown with the language's decimal separator;
- `{"template": msgid, "params": {...}}`, a nested text translated the same way (a label);
- `{"protocol": kind, "code": code, "text": english}`, a text of the protocol definition (a
  visit's name), read through the `protocol` look-up the caller passes, English without one.
Rows stored before a template was kept have none, and show their stored English text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.utils import formats, translation
from django.utils.functional import Promise
from django.utils.translation import gettext

# (kind, code, English text) -> the text in the active language.
ProtocolLookup = Callable[[str, str, str], str]


def number_text(value: float | int, *, localize: bool = True) -> str:
    """A number as a person writes it (150 rather than 150.0), with the language's separator."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    shown = repr(value) if isinstance(value, float) else str(value)
    return decimal_text(shown) if localize else shown


def decimal_text(shown: str) -> str:
    """A number already written with a point ("3.2", "1e-05"), with the language's separator:
    for a message worded now, in the language of whoever reads it."""
    return shown.replace(".", str(formats.get_format("DECIMAL_SEPARATOR")))


def _param(value: Any, translate: bool, protocol: ProtocolLookup | None) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return number_text(value, localize=translate)
    if isinstance(value, Mapping):
        if "template" in value:
            words = render(
                value["template"], value.get("params") or {}, translate=translate, protocol=protocol
            )
            return words.lower() if value.get("case") == "lower" else words
        if "protocol" in value:
            english = str(value.get("text", ""))
            if not translate or protocol is None:
                return english
            return protocol(str(value["protocol"]), str(value.get("code", "")), english)
    return str(value)


def render(
    template: str,
    params: Mapping[str, Any] | None = None,
    *,
    translate: bool = True,
    protocol: ProtocolLookup | None = None,
) -> str:
    """The text in the active language (in English with `translate=False`)."""
    words = gettext(template) if translate else template
    values = {name: _param(value, translate, protocol) for name, value in (params or {}).items()}
    if not values:
        return words
    try:
        return words % values
    except (KeyError, ValueError, TypeError):
        # A translation that names a parameter the text no longer has: English is still right.
        return template % values


def shown(
    stored: str,
    template: str,
    params: Mapping[str, Any] | None,
    *,
    protocol: ProtocolLookup | None = None,
) -> str:
    """A stored message as the reader reads it: its template in the active language, or the
    stored text when it has none."""
    if not template:
        return stored
    try:
        return render(template, params, protocol=protocol)
    except (KeyError, ValueError, TypeError):
        return stored


class Text:
    """A message to store: `Text(gettext_noop("... %(name)s ..."), name=value)`; `english` is
    the text kept, `template` and `params` what the reader's language is rendered from."""

    __slots__ = ("params", "template")

    def __init__(self, template: str | Promise, /, **params: Any) -> None:
        if isinstance(template, Promise):
            # A label marked with gettext_lazy: keep its msgid, not its text in this language.
            with translation.override(None):
                template = str(template)
        self.template = template
        self.params = {name: _stored(value) for name, value in params.items()}

    @property
    def english(self) -> str:
        return render(self.template, self.params, translate=False)

    def __str__(self) -> str:
        return render(self.template, self.params)

    def __repr__(self) -> str:
        return f"Text({self.english!r})"

    def as_param(self, *, lower: bool = False) -> dict[str, Any]:
        """This text as a parameter of another; `lower` writes it in lower case."""
        param: dict[str, Any] = {"template": self.template, "params": self.params}
        if lower:
            param["case"] = "lower"
        return param


def stored_fields(name: str, text: str | Text) -> dict[str, Any]:
    """A message as a model keeps it: `name` in English and, for a Text, `<name>_template` and
    `<name>_params` to word it in the reader's language."""
    if isinstance(text, Text):
        return {
            name: text.english,
            f"{name}_template": text.template,
            f"{name}_params": text.params,
        }
    return {name: text}


def _stored(value: Any) -> Any:
    """A parameter as JSON keeps it: a nested Text becomes its template and parameters."""
    if isinstance(value, Promise):
        value = Text(value)
    if isinstance(value, Text):
        return value.as_param()
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, int | float | str | dict):
        return value
    return str(value)


def protocol_param(kind: str, code: str, english: str) -> dict[str, str]:
    """A parameter that is a text of the protocol definition: a visit's name."""
    return {"protocol": kind, "code": code, "text": english}


def warning_shown(warning: Mapping[str, Any]) -> str:
    """An edit-check warning kept on a form (`{"field", "message", "template", "params"}`) in
    the reader's language."""
    return shown(
        str(warning.get("message", "")), str(warning.get("template") or ""), warning.get("params")
    )

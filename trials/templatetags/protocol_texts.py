"""Texts of a participant's protocol file in the active language, English when not translated."""

from __future__ import annotations

from typing import Any

from django import template

from trials.texts import protocol_text

register = template.Library()


@register.simple_tag
def protocol_tr(participant: Any, kind: str, code: str, english: str) -> str:
    """`{% protocol_tr participant "visits" visit.code visit.name %}`."""
    return protocol_text(participant, kind, code, english)

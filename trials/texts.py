"""The one look-up of a protocol text in the active language, for the pages only; exports and
stored values keep the file's English."""

from __future__ import annotations

from typing import Any

from django.utils import translation

from trials.definitions import definition_of


def protocol_text(participant: Any, kind: str, code: str, english: str) -> str:
    """The protocol's text of a visit, criterion, arm, stage or exclusion group (by its code)
    in the active language, or the English text when the protocol does not translate it."""
    language = translation.get_language() or "en"
    if language.startswith("en") or participant is None:
        return english
    return definition_of(participant.protocol_version).text(language, kind, code, english)

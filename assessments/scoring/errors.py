"""The single error type raised by every calculator in the scoring package."""

from __future__ import annotations


class ScoringInputError(ValueError):
    """An input to a calculator is missing, malformed or out of range.

    `field` names the offending input so a form can attach the message to it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

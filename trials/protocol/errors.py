"""Error types raised when a protocol definition file is rejected."""

from __future__ import annotations

from dataclasses import dataclass

ROOT_PATH = ""


@dataclass(frozen=True)
class ProtocolIssue:
    """One problem found in a protocol file: where it is and what is wrong."""

    path: str
    line: int | None
    message: str

    def format(self, source: str) -> str:
        """Render as ``source:LINE: at 'path': message`` (the line is '?' when unknown)."""
        line = "?" if self.line is None else str(self.line)
        return f"{source}:{line}: at '{self.path or '(root)'}': {self.message}"


class ProtocolError(Exception):
    """A protocol file failed to load; ``errors`` lists every problem found, in file order."""

    def __init__(self, source: str, errors: list[ProtocolIssue]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.errors)
        head = f"{self.source}: protocol definition rejected ({count} problem{'s' * (count != 1)})"
        return "\n".join([head, *(issue.format(self.source) for issue in self.errors)])

"""The typed definition of a stored protocol version, parsed once per process."""

from __future__ import annotations

import json
from functools import lru_cache

from trials.models import ProtocolVersion
from trials.protocol import ProtocolDefinition, parse_protocol_text


@lru_cache(maxsize=64)
def _parse(checksum: str, text: str) -> ProtocolDefinition:
    return parse_protocol_text(text, source=f"stored version {checksum[:12]}")


def definition_of(version: ProtocolVersion) -> ProtocolDefinition:
    # JSON is YAML, so the stored dict goes back through the same validating parser.
    return _parse(version.checksum, json.dumps(version.definition, sort_keys=True))


def current_version(trial_id: int) -> ProtocolVersion:
    version = ProtocolVersion.objects.filter(trial_id=trial_id).order_by("-number").first()
    if version is None:
        from ecrf.errors import DomainError

        raise DomainError("This trial has no protocol loaded yet.")
    return version

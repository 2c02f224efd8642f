"""Protocol definition files: schema, strict loading and typed immutable model."""

from .errors import ProtocolError, ProtocolIssue
from .model import (
    FORM_CODES,
    FORMAT,
    RULE_SETS,
    Arm,
    Blinding,
    Cohort,
    Criterion,
    Dosing,
    Eligibility,
    FrozenMap,
    Identifiers,
    Parameter,
    ProtocolDefinition,
    Randomization,
    Response,
    Site,
    Stage,
    StratificationFactor,
    Visit,
)
from .parse import canonical_checksum, parse_protocol_file, parse_protocol_text
from .schema import PROTOCOL_SCHEMA

__all__ = [
    "FORMAT",
    "FORM_CODES",
    "PROTOCOL_SCHEMA",
    "RULE_SETS",
    "Arm",
    "Blinding",
    "Cohort",
    "Criterion",
    "Dosing",
    "Eligibility",
    "FrozenMap",
    "Identifiers",
    "Parameter",
    "ProtocolDefinition",
    "ProtocolError",
    "ProtocolIssue",
    "Randomization",
    "Response",
    "Site",
    "Stage",
    "StratificationFactor",
    "Visit",
    "canonical_checksum",
    "parse_protocol_file",
    "parse_protocol_text",
]

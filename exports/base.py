"""The shapes every export format shares: a context, datasets with typed variables, progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from trials.models import ProtocolVersion, Trial

Format = Literal["csv", "xpt", "odm"]
FORMATS: tuple[Format, ...] = ("csv", "xpt", "odm")
# How raw tables lay out the forms: one row per record (wide) or one row per value (long).
RawLayout = Literal["wide", "long"]
RAW_LAYOUTS: tuple[RawLayout, ...] = ("wide", "long")

# Called with the number of rows (or ODM data points) written since the last call.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportContext:
    """What one export reads: a trial as it stood at `as_of`, blinded unless said otherwise."""

    trial: Trial
    protocol_version: ProtocolVersion
    as_of: dt.datetime
    blinded: bool = True


@dataclass(frozen=True)
class Supplemental:
    """How a variable SDTMIG does not define in its domain is written to SUPP--: the QORIG of
    its records (a Define-XML origin type) and, for an assessment, who made it (QEVAL)."""

    origin: Literal["Collected", "Derived", "Assigned", "Protocol"]
    evaluator: str = ""


@dataclass(frozen=True)
class Variable:
    """One column of a dataset, with what its codebook says of it."""

    name: str
    label: str
    type: Literal["Char", "Num"] = "Char"
    length: int = 200
    unit: str = ""
    codelist: tuple[str, ...] = ()
    # Allocation-revealing: never written in a blinded export.
    revealing: bool = False
    # Kept in a blinded export with this one value instead of every non-empty one (the arm
    # variables of DM, which SDTM requires in every build); empty values stay empty.
    masked: str = ""
    # The form fields it is taken from, as "form_code.field": a variable taken from a field the
    # form type or the protocol's `blinding.allocation_revealing` names is revealing too.
    source: tuple[str, ...] = ()
    # Written to the domain's SUPP-- dataset (QNAM = name, QLABEL = label), not to the domain.
    supplemental: Supplemental | None = None
    # def:Origin Type when the dataset alone says it; otherwise Define-XML infers it.
    origin: str = ""
    # How a derived variable is computed, as Define-XML's method states it.
    method: str = ""


@dataclass(frozen=True)
class Dataset:
    """An SDTM-style domain: its variables and a generator of its rows in key order."""

    name: str
    label: str
    variables: tuple[Variable, ...]
    rows: Callable[[ExportContext], Iterator[tuple[object, ...]]]
    count: Callable[[ExportContext], int]
    # Only in unblinded exports (EX); EC is its blinded counterpart.
    unblinded_only: bool = False
    keys: tuple[str, ...] = field(default=("USUBJID",))
    # The domain a SUPP-- (or RELREC) dataset qualifies; None for a domain.
    parent: Dataset | None = None
    # Of a domain with supplemental variables: how many SUPP-- records the QNAMs named give,
    # counted without building the rows (without it, the SUPP-- rows are counted).
    supplemental_count: Callable[[ExportContext, frozenset[str]], int] | None = None


@dataclass(frozen=True)
class WrittenFile:
    """A file an export wrote: its path, the dataset it holds and how many data rows."""

    path: Path
    dataset: str
    rows: int

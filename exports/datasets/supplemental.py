"""SUPP-- datasets: the sponsor variables a domain's Layout marks supplemental, one record each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from django.db.models import Count, Q

from exports.base import Dataset, ExportContext, Variable
from exports.cells import number_text
from exports.datasets.common import char, is_revealing, revealing_sources

# SAS transport v5: a QNAM is a variable name and a QLABEL a variable label.
QNAM_MAX = 8
QLABEL_MAX = 40


def supplemental_variables(parent: Dataset) -> tuple[Variable, ...]:
    """The variables of `parent` written to its SUPP-- dataset, in QNAM order."""
    found = sorted(
        (variable for variable in parent.variables if variable.supplemental is not None),
        key=lambda variable: variable.name,
    )
    for variable in found:
        if len(variable.name) > QNAM_MAX or len(variable.label) > QLABEL_MAX:
            raise ValueError(f"{parent.name}.{variable.name} cannot be a QNAM with its QLABEL.")
    return tuple(found)


def kept_qualifiers(parent: Dataset, ctx: ExportContext) -> tuple[Variable, ...]:
    """The supplemental variables of `parent` this export may write: a blinded one leaves out
    those the blinding would leave out of the domain itself."""
    found = supplemental_variables(parent)
    if not ctx.blinded:
        return found
    sources = revealing_sources(ctx)
    return tuple(variable for variable in found if not is_revealing(variable, sources))


def supp_variables(parent: Dataset, qnams: tuple[str, ...]) -> tuple[Variable, ...]:
    """The SUPPQUAL structure (SDTM 2.0, SDTMIG 3.4 section 8.4) for the QNAMs of `parent`."""
    return (
        char("STUDYID", "Study Identifier", origin="Assigned"),
        char("RDOMAIN", "Related Domain Abbreviation", codelist=(parent.name,), origin="Assigned"),
        char("USUBJID", "Unique Subject Identifier"),
        char("IDVAR", "Identifying Variable", codelist=(parent.keys[-1],), origin="Assigned"),
        char("IDVARVAL", "Identifying Variable Value", origin="Derived"),
        char("QNAM", "Qualifier Variable Name", length=QNAM_MAX, codelist=qnams, origin="Assigned"),
        char("QLABEL", "Qualifier Variable Label", length=QLABEL_MAX, origin="Assigned"),
        char("QVAL", "Data Value", origin="Collected"),
        char("QORIG", "Origin", origin="Assigned"),
        char("QEVAL", "Evaluator", origin="Assigned"),
    )


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a value SUPP-- writes.")
    if isinstance(value, int | float):
        return number_text(float(value))
    raise TypeError(f"{value!r} is not a value SUPP-- writes.")


def supplemental_rows(
    parent: Dataset, ctx: ExportContext, qualifiers: tuple[Variable, ...]
) -> Iterator[tuple[object, ...]]:
    """One record per parent record and qualifier with a value, in key order: the parent's
    rows are built once more and the qualifiers read from them by position. IDVARVAL is
    text, so each subject's records are sorted as text ("10" before "2")."""
    if not qualifiers:
        return
    names = [variable.name for variable in parent.variables]
    study, subject = names.index("STUDYID"), names.index("USUBJID")
    idvar = parent.keys[-1]
    seq = names.index(idvar)
    read = [(names.index(variable.name), variable) for variable in qualifiers]
    pending: list[tuple[object, ...]] = []
    for row in parent.rows(ctx):
        if pending and pending[0][2] != row[subject]:
            yield from _in_key_order(pending)
            pending = []
        for position, variable in read:
            value = row[position]
            if value is None or value == "":
                continue
            origin = variable.supplemental
            assert origin is not None
            pending.append(
                (
                    row[study],
                    parent.name,
                    row[subject],
                    idvar,
                    _text(row[seq]),
                    variable.name,
                    variable.label,
                    _text(value),
                    origin.origin,
                    origin.evaluator,
                )
            )
    yield from _in_key_order(pending)


def _in_key_order(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(rows, key=lambda row: (row[4], row[5]))


def filled_count(queryset: Any, filled: Mapping[str, Q], qnams: frozenset[str]) -> int:
    """How many SUPP-- records the `qnams` give, in one query over the parent's records:
    `filled` has, for each QNAM, the condition of a record that has its value."""
    wanted = {name: Count("pk", filter=filled[name]) for name in sorted(qnams)}
    if not wanted:
        return 0
    return sum(queryset.order_by().aggregate(**wanted).values())


def supplemental(parent: Dataset) -> Dataset:
    """SUPP<parent>: its variables and rows derived from the parent's Layout."""
    qnams = tuple(variable.name for variable in supplemental_variables(parent))

    def rows(ctx: ExportContext) -> Iterator[tuple[object, ...]]:
        qualifiers = kept_qualifiers(parent, ctx)
        # Building the parent's rows again is the cost of a SUPP-- dataset: skipped when its
        # count, read without them, says there is nothing to write (SUPPRS, most of the time).
        counted = parent.supplemental_count
        if counted is not None and not counted(ctx, frozenset(v.name for v in qualifiers)):
            return iter(())
        return supplemental_rows(parent, ctx, qualifiers)

    def count(ctx: ExportContext) -> int:
        qualifiers = kept_qualifiers(parent, ctx)
        if parent.supplemental_count is not None:
            return parent.supplemental_count(ctx, frozenset(v.name for v in qualifiers))
        return sum(1 for _ in supplemental_rows(parent, ctx, qualifiers))

    return Dataset(
        name=f"SUPP{parent.name}",
        label=f"Supplemental Qualifiers for {parent.name}",
        variables=supp_variables(parent, qnams),
        rows=rows,
        count=count,
        unblinded_only=parent.unblinded_only,
        keys=("USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        parent=parent,
    )


def qualifiers_as_exported(dataset: Dataset, ctx: ExportContext) -> tuple[Variable, ...]:
    """The variables of a SUPP-- dataset as this export writes them: its QNAM code list holds
    only the qualifiers the export may write."""
    assert dataset.parent is not None
    qnams = tuple(variable.name for variable in kept_qualifiers(dataset.parent, ctx))
    return tuple(
        replace(variable, codelist=qnams) if variable.name == "QNAM" else variable
        for variable in dataset.variables
    )

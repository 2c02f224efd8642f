"""The SDTM-style datasets, in export order, and the one place blinding removes what they reveal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from exports.base import Dataset, ExportContext, Variable
from exports.datasets.common import is_revealing, revealing_sources
from exports.datasets.demography import DM
from exports.datasets.design import SE, TA, TE, TI, TS, TV
from exports.datasets.disposition import DS, IE
from exports.datasets.events import AE, CM, DV
from exports.datasets.exposure import EC, EX
from exports.datasets.findings import LB
from exports.datasets.history import MH
from exports.datasets.relrec import RELREC
from exports.datasets.reproductive import RP
from exports.datasets.responses import RS
from exports.datasets.supplemental import qualifiers_as_exported, supplemental
from exports.datasets.visits import SV
from exports.datasets.vitals import VS

SUPPEX, SUPPAE, SUPPCM, SUPPRS = (supplemental(parent) for parent in (EX, AE, CM, RS))

DATASETS: tuple[Dataset, ...] = (
    DM, SE, DS, SV, EC, EX, SUPPEX, AE, SUPPAE, CM, SUPPCM, MH, LB, VS, RS, SUPPRS, RP, IE,
    DV, RELREC, TS, TA, TE, TV, TI,
)  # fmt: skip


@dataclass(frozen=True)
class ExportedDataset:
    """A dataset as one export writes it: blinded exports lose every revealing variable."""

    dataset: Dataset
    variables: tuple[Variable, ...]
    positions: tuple[int, ...]
    # In a blinded export, the positions (in the written row) of masked variables and their mask.
    masks: tuple[tuple[int, str], ...] = ()

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def label(self) -> str:
        return self.dataset.label

    def rows(self, ctx: ExportContext) -> Iterator[tuple[object, ...]]:
        positions = self.positions
        rows = self.dataset.rows(ctx)
        if len(positions) != len(self.dataset.variables):
            rows = (tuple(row[position] for position in positions) for row in rows)
        if not self.masks:
            yield from rows
            return
        masks = self.masks
        for row in rows:
            values = list(row)
            for position, mask in masks:
                if values[position] not in (None, ""):
                    values[position] = mask
            yield tuple(values)

    def count(self, ctx: ExportContext) -> int:
        return self.dataset.count(ctx)


def exported_datasets(ctx: ExportContext) -> list[ExportedDataset]:
    """The datasets an export writes, in order, with the variables it may show.

    Blinded (the default): EX is left out, and so is every variable marked revealing or
    taken from an allocation-revealing field; they are absent from the files, not blanked.
    A masked variable stays, with its one mask in place of every value it has. A domain's
    supplemental variables are written to its SUPP-- dataset instead, under the same rules.
    """
    sources = revealing_sources(ctx) if ctx.blinded else frozenset()
    exported = []
    for dataset in DATASETS:
        if ctx.blinded and dataset.unblinded_only:
            continue
        if dataset.parent is not None:
            variables = qualifiers_as_exported(dataset, ctx)
            exported.append(ExportedDataset(dataset, variables, tuple(range(len(variables)))))
            continue
        # A supplemental variable is written to the SUPP-- dataset, never to its domain.
        kept = [
            (position, variable)
            for position, variable in enumerate(dataset.variables)
            if variable.supplemental is None
            and not (ctx.blinded and is_revealing(variable, sources))
        ]
        variables = tuple(variable for _, variable in kept)
        masks = tuple(
            (index, variable.masked)
            for index, variable in enumerate(variables)
            if ctx.blinded and variable.masked
        )
        exported.append(
            ExportedDataset(
                dataset=dataset,
                variables=variables,
                positions=tuple(position for position, _ in kept),
                masks=masks,
            )
        )
    return exported


__all__ = [
    "AE",
    "CM",
    "DATASETS",
    "DM",
    "DS",
    "DV",
    "EC",
    "EX",
    "IE",
    "LB",
    "MH",
    "RELREC",
    "RP",
    "RS",
    "SE",
    "SUPPAE",
    "SUPPCM",
    "SUPPEX",
    "SUPPRS",
    "SV",
    "TA",
    "TE",
    "TI",
    "TS",
    "TV",
    "VS",
    "ExportedDataset",
    "exported_datasets",
    "is_revealing",
    "revealing_sources",
]

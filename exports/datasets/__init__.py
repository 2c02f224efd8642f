"""The SDTM-style datasets, in export order, and the one place blinding removes what they reveal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from exports.base import Dataset, ExportContext, Variable
from exports.datasets.common import revealing_sources
from exports.datasets.demography import DM
from exports.datasets.disposition import DS, IE
from exports.datasets.events import AE, CM, DV
from exports.datasets.exposure import EC, EX
from exports.datasets.findings import LB, VS
from exports.datasets.responses import RS
from exports.datasets.visits import SV

DATASETS: tuple[Dataset, ...] = (DM, DS, SV, EC, EX, AE, CM, LB, VS, RS, IE, DV)


def is_revealing(variable: Variable, sources: frozenset[str]) -> bool:
    return variable.revealing or any(source in sources for source in variable.source)


@dataclass(frozen=True)
class ExportedDataset:
    """A dataset as one export writes it: blinded exports lose every revealing variable."""

    dataset: Dataset
    variables: tuple[Variable, ...]
    positions: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def label(self) -> str:
        return self.dataset.label

    def rows(self, ctx: ExportContext) -> Iterator[tuple[object, ...]]:
        positions = self.positions
        if len(positions) == len(self.dataset.variables):
            yield from self.dataset.rows(ctx)
            return
        for row in self.dataset.rows(ctx):
            yield tuple(row[position] for position in positions)

    def count(self, ctx: ExportContext) -> int:
        return self.dataset.count(ctx)


def exported_datasets(ctx: ExportContext) -> list[ExportedDataset]:
    """The datasets an export writes, in order, with the variables it may show.

    Blinded (the default): EX is left out, and so is every variable marked revealing or
    taken from an allocation-revealing field; they are absent from the files, not blanked.
    """
    sources = revealing_sources(ctx) if ctx.blinded else frozenset()
    exported = []
    for dataset in DATASETS:
        if ctx.blinded and dataset.unblinded_only:
            continue
        kept = [
            (position, variable)
            for position, variable in enumerate(dataset.variables)
            if not (ctx.blinded and is_revealing(variable, sources))
        ]
        exported.append(
            ExportedDataset(
                dataset=dataset,
                variables=tuple(variable for _, variable in kept),
                positions=tuple(position for position, _ in kept),
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
    "RS",
    "SV",
    "VS",
    "ExportedDataset",
    "exported_datasets",
    "is_revealing",
    "revealing_sources",
]

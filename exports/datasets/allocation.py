"""The one place datasets read allocation (arm or open-label cohort), for unblinded exports only."""

from __future__ import annotations

from dataclasses import dataclass

from exports.base import ExportContext
from exports.datasets.common import Definitions, Subject
from exports.snapshot import as_of, stream
from trials.models import AllocationSlot, Cohort


@dataclass(frozen=True)
class Allocation:
    """What a participant was allocated to: an arm of the randomized stage, or a cohort."""

    code: str
    name: str
    placebo: bool
    cells_per_kg: float | None


class BlindedExportError(RuntimeError):
    """Allocation was asked for while writing a blinded export."""


def allocations(
    ctx: ExportContext, batch: list[Subject], definitions: Definitions
) -> dict[int, Allocation]:
    """The allocation of each subject of the batch as it stood at the export instant.

    The allocation list keeps no history; a slot counts from the instant it was assigned.
    """
    if ctx.blinded:
        raise BlindedExportError("A blinded export never reads allocation.")
    found: dict[int, Allocation] = {}
    by_pk = {subject.pk: subject for subject in batch}
    slots = AllocationSlot.objects.filter(
        participant_id__in=list(by_pk), assigned_at__lte=ctx.as_of
    ).values_list("participant_id", "arm_code")
    for participant_id, arm_code in slots.order_by("participant_id"):
        definition = definitions.of(by_pk[participant_id].protocol_version_id)
        try:
            arm = definition.arm(arm_code)
        except KeyError:
            found[participant_id] = Allocation(arm_code, arm_code, False, None)
            continue
        placebo = arm.type == "placebo_comparator"
        cells = definition.dosing.cells_per_kg
        found[participant_id] = Allocation(
            arm.code, arm.name, placebo, None if placebo or cells is None else float(cells)
        )
    cohort_of = {
        subject.pk: subject.cohort_id
        for subject in batch
        if subject.cohort_id is not None and subject.pk not in found
    }
    if cohort_of:
        cohorts = {
            row.id: row
            for row in stream(
                as_of(Cohort, ctx.as_of).filter(id__in=sorted(set(cohort_of.values())))
            )
        }
        for participant_id, cohort_id in cohort_of.items():
            cohort = cohorts.get(cohort_id)
            if cohort is not None:
                found[participant_id] = Allocation(
                    cohort.code, cohort.name, False, float(cohort.dose_cells_per_kg)
                )
    return found

"""Load protocol definition files: the same file twice changes nothing, a changed file is a new
protocol version, and data already collected stays tied to the version it was collected under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from ecrf.audit import audited_save
from ecrf.errors import DomainError
from trials.models import Cohort, CohortStatus, ProtocolVersion, Site, Trial
from trials.protocol import ProtocolDefinition


@dataclass(frozen=True)
class LoadResult:
    version: ProtocolVersion
    created: bool
    sites_added: tuple[str, ...] = ()
    cohorts_added: tuple[str, ...] = ()


def protocol_load(
    *, actor: Any, definition: ProtocolDefinition, source_name: str, now: datetime
) -> LoadResult:
    """Store `definition` as the trial's newest protocol version, unless it is already loaded."""
    with transaction.atomic():
        trial = Trial.objects.select_for_update().filter(code=definition.code).first()
        if trial is None:
            trial = audited_save(
                Trial(
                    code=definition.code,
                    title=definition.title,
                    short_title=definition.short_title,
                    nct=definition.identifiers.nct,
                ),
                actor=actor,
            )
        existing = ProtocolVersion.objects.filter(trial=trial, checksum=definition.checksum).first()
        if existing is not None:
            return LoadResult(version=existing, created=False)
        if ProtocolVersion.objects.filter(trial=trial, label=definition.version).exists():
            raise DomainError(
                f"{source_name}: version {definition.version!r} of {definition.code} is already "
                "loaded with different content. Give an amended file a new version label."
            )
        number = (
            ProtocolVersion.objects.filter(trial=trial).aggregate(n=Max("number"))["n"] or 0
        ) + 1
        version = ProtocolVersion.objects.create(
            trial=trial,
            number=number,
            label=definition.version,
            checksum=definition.checksum,
            definition=definition.raw,
            source_name=source_name,
            loaded_at=now,
            loaded_by=actor,
        )
        _update_trial(trial, definition, actor=actor)
        sites_added = _sync_sites(trial, definition, actor=actor)
        cohorts_added = _sync_cohorts(trial, definition, actor=actor)
        return LoadResult(version, True, sites_added, cohorts_added)


def _update_trial(trial: Trial, definition: ProtocolDefinition, *, actor: Any) -> None:
    values = {
        "title": definition.title,
        "short_title": definition.short_title,
        "nct": definition.identifiers.nct,
    }
    if any(getattr(trial, key) != value for key, value in values.items()):
        for key, value in values.items():
            setattr(trial, key, value)
        audited_save(trial, actor=actor, reason=f"Protocol version {definition.version} loaded")


def _sync_sites(trial: Trial, definition: ProtocolDefinition, *, actor: Any) -> tuple[str, ...]:
    existing = {site.code: site for site in Site.objects.filter(trial=trial)}
    added = []
    reason = f"Protocol version {definition.version} loaded"
    for spec in definition.sites:
        site = existing.get(spec.code)
        if site is None:
            audited_save(
                Site(
                    trial=trial,
                    code=spec.code,
                    name=spec.name,
                    city=spec.city,
                    country=spec.country,
                    time_zone=spec.time_zone,
                ),
                actor=actor,
            )
            added.append(spec.code)
            continue
        if site.time_zone != spec.time_zone and site.participants.exists():
            # Windows already computed in the old zone would silently shift.
            raise DomainError(
                f"Site {spec.code} already has participants; its time zone cannot change "
                f"from {site.time_zone} to {spec.time_zone}."
            )
        changed = (site.name, site.city, site.country, site.time_zone) != (
            spec.name,
            spec.city,
            spec.country,
            spec.time_zone,
        )
        if changed:
            site.name, site.city, site.country = spec.name, spec.city, spec.country
            site.time_zone = spec.time_zone
            audited_save(site, actor=actor, reason=reason)
    return tuple(added)


def _sync_cohorts(trial: Trial, definition: ProtocolDefinition, *, actor: Any) -> tuple[str, ...]:
    existing = {cohort.code: cohort for cohort in Cohort.objects.filter(trial=trial)}
    added = []
    for stage in definition.stages:
        for spec in stage.cohorts:
            cohort = existing.get(spec.code)
            if cohort is None:
                first_of_new_trial = not existing and spec.order == 1 and stage.order == 1
                audited_save(
                    Cohort(
                        trial=trial,
                        stage_code=stage.code,
                        code=spec.code,
                        name=spec.name,
                        dose_cells_per_kg=spec.dose_cells_per_kg,
                        planned_n=spec.planned_n,
                        order=spec.order,
                        status=CohortStatus.OPEN if first_of_new_trial else CohortStatus.PLANNED,
                    ),
                    actor=actor,
                )
                added.append(spec.code)
            elif cohort.status == CohortStatus.PLANNED and (
                cohort.dose_cells_per_kg,
                cohort.planned_n,
            ) != (spec.dose_cells_per_kg, spec.planned_n):
                cohort.dose_cells_per_kg = spec.dose_cells_per_kg
                cohort.planned_n = spec.planned_n
                audited_save(
                    cohort, actor=actor, reason=f"Protocol version {definition.version} loaded"
                )
    return tuple(added)

"""Concealed randomization and dose-escalation cohorts."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from ecrf.access import SITE_STAFF_ROLES, Role
from ecrf.audit import audited_save
from ecrf.errors import DomainError, InvalidTransitionError
from trials import allocation
from trials.access import require_role
from trials.definitions import current_version, definition_of
from trials.identifiers import subject_identifier
from trials.models import (
    AllocationList,
    AllocationSlot,
    Cohort,
    CohortStatus,
    Participant,
    SafetyDecision,
    SafetyReview,
    Trial,
)
from trials.protocol import ProtocolDefinition
from trials.services.participants import (
    S,
    lock_participant,
    next_site_number,
    require_reconfirmed,
    require_still_eligible,
    transition,
)

IMPORT_COLUMNS = (
    "stratum",
    "sequence",
    "block_number",
    "block_size",
    "arm",
    "randomization_number",
)


def randomized_stage(definition: ProtocolDefinition) -> Any:
    for stage in definition.stages:
        if stage.kind == "randomized":
            return stage
    raise DomainError(f"{definition.code} has no randomized stage.")


def _strata(definition: ProtocolDefinition) -> list[str]:
    factors = {f.code: f for f in definition.stratification_factors}
    strata = definition.randomization.strata if definition.randomization else ()
    return allocation.strata_keys([(code, factors[code].levels) for code in strata])


def _store_list(
    *,
    trial: Trial,
    stage_code: str,
    method: str,
    lines: list[allocation.Line],
    actor: Any,
    now: datetime,
    seed_sha256: str = "",
    block_sizes: list[int] | None = None,
    numbers: list[str] | None = None,
) -> AllocationList:
    if AllocationList.objects.filter(trial=trial, stage_code=stage_code).exists():
        raise DomainError(f"{trial.code} stage {stage_code} already has an allocation list.")
    allocation_list = AllocationList.objects.create(
        trial=trial,
        stage_code=stage_code,
        method=method,
        seed_sha256=seed_sha256,
        block_sizes=block_sizes or [],
        created_by=actor,
        created_at=now,
    )
    AllocationSlot.objects.bulk_create(
        AllocationSlot(
            allocation_list=allocation_list,
            stratum=line.stratum,
            sequence=line.sequence,
            block_number=line.block_number,
            block_size=line.block_size,
            arm_code=line.arm_code,
            randomization_number=numbers[index] if numbers else f"R{index + 1:04d}",
        )
        for index, line in enumerate(lines)
    )
    return allocation_list


def allocation_generate(
    *, actor: Any, trial: Trial, seed: str, per_stratum: int | None = None, now: datetime
) -> AllocationList:
    """Generate the concealed list of the randomized stage from a secret seed."""
    require_role(
        actor,
        trial=trial,
        roles={Role.UNBLINDED_STATISTICIAN},
        action=gettext_noop("create allocation lists"),
    )
    definition = definition_of(current_version(trial.pk))
    stage = randomized_stage(definition)
    arms = [allocation.Arm(a.code, a.ratio) for a in definition.arms if a.code in stage.arms]
    block_sizes = list(definition.randomization.block_sizes) if definition.randomization else [2]
    count = per_stratum or stage.planned_n or definition.planned_enrollment
    try:
        lines = allocation.generate(
            seed=seed,
            arms=arms,
            block_sizes=block_sizes,
            strata=_strata(definition),
            per_stratum=count,
        )
    except ValueError as error:
        raise DomainError(str(error)) from None
    with transaction.atomic():
        return _store_list(
            trial=trial,
            stage_code=stage.code,
            method=AllocationList.Method.GENERATED,
            lines=lines,
            actor=actor,
            now=now,
            seed_sha256=allocation.seed_fingerprint(seed),
            block_sizes=block_sizes,
        )


def allocation_import(*, actor: Any, trial: Trial, csv_text: str, now: datetime) -> AllocationList:
    """Import a list prepared elsewhere; every line is checked before anything is stored."""
    require_role(
        actor,
        trial=trial,
        roles={Role.UNBLINDED_STATISTICIAN},
        action=gettext_noop("import allocation lists"),
    )
    definition = definition_of(current_version(trial.pk))
    stage = randomized_stage(definition)
    reader = csv.DictReader(io.StringIO(csv_text))
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DomainError(
            f"The allocation list was not imported: line 1: missing column(s) {', '.join(missing)}."
        )
    strata = set(_strata(definition))
    lines: list[allocation.Line] = []
    numbers: list[str] = []
    errors: list[str] = []
    expected_next: dict[str, int] = {}
    first_line_of: dict[str, int] = {}
    for row_number, row in enumerate(reader, start=2):
        # A short row leaves its last columns as None: read them as empty, not as a crash.
        row = {column: (row.get(column) or "").strip() for column in IMPORT_COLUMNS}
        stratum, arm = row["stratum"], row["arm"]
        try:
            sequence, block, size = (
                int(row["sequence"]),
                int(row["block_number"]),
                int(row["block_size"]),
            )
        except ValueError:
            errors.append(
                f"line {row_number}: sequence, block_number and block_size must be whole numbers"
            )
            continue
        if stratum not in strata:
            errors.append(f"line {row_number}: unknown stratum {stratum!r}")
        if arm not in stage.arms:
            errors.append(f"line {row_number}: unknown arm {arm!r}")
        if sequence != expected_next.get(stratum, 1):
            errors.append(f"line {row_number}: sequence {sequence} in {stratum} is out of order")
        expected_next[stratum] = sequence + 1
        number = row["randomization_number"]
        if not number:
            errors.append(f"line {row_number}: randomization_number is empty")
        elif number in first_line_of:
            errors.append(
                f"line {row_number}: randomization number {number!r} is already used "
                f"on line {first_line_of[number]}"
            )
        else:
            first_line_of[number] = row_number
        lines.append(allocation.Line(stratum, sequence, block, size, arm))
        numbers.append(number)
    if not lines:
        errors.append("the file has no allocation lines")
    if errors:
        raise DomainError("The allocation list was not imported: " + "; ".join(errors[:20]) + ".")
    with transaction.atomic():
        return _store_list(
            trial=trial,
            stage_code=stage.code,
            method=AllocationList.Method.IMPORTED,
            lines=lines,
            actor=actor,
            now=now,
            numbers=numbers,
        )


def stratum_of(
    participant: Participant, definition: ProtocolDefinition, values: dict[str, str]
) -> str:
    factors = {f.code: f for f in definition.stratification_factors}
    parts = []
    for code in definition.randomization.strata if definition.randomization else ():
        factor = factors[code]
        value = participant.site.code if factor.source == "site" else values.get(code, "")
        if value not in factor.levels:
            raise DomainError(
                f"Stratification factor {factor.name}: {value!r} is not one of "
                f"{', '.join(factor.levels)}.",
                fields={code: ["Choose a listed level."]},
            )
        parts.append(f"{code}={value}")
    return ";".join(parts) or "all"


def _assign_subject_id(participant: Participant) -> None:
    if not participant.subject_id:
        participant.subject_id = subject_identifier(
            participant.site.code, next_site_number(participant.site, "subject")
        )


def participant_randomize(
    *,
    actor: Any,
    participant: Participant,
    strata_values: dict[str, str] | None = None,
    now: datetime,
) -> Participant:
    """Give an eligible participant the next concealed slot of their stratum.

    The allocation list row is locked first, so concurrent randomizations queue and take
    consecutive slots; the caller learns only the randomization number.
    """
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("randomize"),
    )
    definition = definition_of(current_version(participant.trial_id))
    stage = randomized_stage(definition)
    if dose_escalation_running(participant.trial):
        raise DomainError(
            "Dose escalation is still running: enrol this participant in the open cohort."
        )
    with transaction.atomic():
        allocation_list = (
            AllocationList.objects.select_for_update()
            .filter(trial_id=participant.trial_id, stage_code=stage.code)
            .first()
        )
        if allocation_list is None:
            raise DomainError(
                "No allocation list has been loaded for this trial; ask the unblinded statistician."
            )
        locked = lock_participant(participant)
        transition(locked, S.RANDOMIZED)
        require_reconfirmed(locked, now=now)
        require_still_eligible(locked, now=now)
        stratum = stratum_of(locked, definition, strata_values or {})
        slot = (
            AllocationSlot.objects.filter(
                allocation_list=allocation_list, stratum=stratum, participant__isnull=True
            )
            .order_by("sequence")
            .first()
        )
        if slot is None:
            raise DomainError(
                f"The allocation list for {stratum} is exhausted; "
                "contact the unblinded statistician."
            )
        # Compare-and-set by query: the slot (and its arm) is never attached to the participant
        # object returned to a blinded caller.
        taken = AllocationSlot.objects.filter(pk=slot.pk, participant__isnull=True).update(
            participant=locked, assigned_at=now
        )
        if taken != 1:
            raise DomainError("The allocation slot was taken meanwhile; randomize again.")
        _assign_subject_id(locked)
        locked.stage_code = stage.code
        locked.randomization_number = slot.randomization_number
        locked.randomized_at = now
        return audited_save(locked, actor=actor, reason="Randomized")


def active_cohort(trial: Trial) -> Cohort | None:
    """The cohort taking participants, or None when dose escalation is over or not used."""
    return Cohort.objects.filter(trial=trial, status=CohortStatus.OPEN).order_by("order").first()


def dose_escalation_running(trial: Trial) -> bool:
    """Until every cohort is reviewed (or escalation stopped), the randomized stage waits."""
    return Cohort.objects.filter(
        trial=trial, status__in=[CohortStatus.OPEN, CohortStatus.FULL, CohortStatus.PLANNED]
    ).exists()


def participant_enrol(*, actor: Any, participant: Participant, now: datetime) -> Participant:
    """Enrol an eligible participant in the open dose-escalation cohort at its dose level."""
    require_role(
        actor,
        trial=participant.trial,
        site=participant.site,
        roles=SITE_STAFF_ROLES,
        action=gettext_noop("enrol"),
    )
    with transaction.atomic():
        cohort = (
            Cohort.objects.select_for_update()
            .filter(trial_id=participant.trial_id, status=CohortStatus.OPEN)
            .order_by("order")
            .first()
        )
        if cohort is None:
            raise DomainError(
                "No cohort is open for enrolment; it opens after the safety review decision."
            )
        locked = lock_participant(participant)
        transition(locked, S.ENROLLED)
        require_still_eligible(locked, now=now)
        _assign_subject_id(locked)
        locked.cohort = cohort
        locked.stage_code = cohort.stage_code
        locked.randomized_at = now
        audited_save(locked, actor=actor, reason=f"Enrolled in {cohort.code}")
        capacity = cohort.planned_n + sum(r.expand_by for r in cohort.safety_reviews.all())
        if cohort.participants.count() >= capacity:
            cohort.status = CohortStatus.FULL
            audited_save(cohort, actor=actor, reason="Cohort full; awaiting safety review")
        return locked


def safety_review_record(
    *, actor: Any, cohort: Cohort, decision: str, rationale: str, expand_by: int = 0, now: datetime
) -> SafetyReview:
    """Record the safety review of a full cohort; escalation opens the next cohort."""
    require_role(
        actor,
        trial=cohort.trial,
        roles={Role.MEDICAL_MONITOR},
        action=gettext_noop("record safety review decisions"),
    )
    if decision not in SafetyDecision.values:
        raise DomainError(
            "Choose escalate, stay or stop.", fields={"decision": ["Unknown decision."]}
        )
    if not rationale.strip():
        raise DomainError(
            "Give the rationale of the decision.", fields={"rationale": ["Required."]}
        )
    if decision == SafetyDecision.STAY and expand_by < 1:
        raise DomainError(
            "Say by how many participants the cohort grows.", fields={"expand_by": ["At least 1."]}
        )
    with transaction.atomic():
        locked = Cohort.objects.select_for_update().get(pk=cohort.pk)
        if locked.status != CohortStatus.FULL:
            raise InvalidTransitionError(
                f"{locked.code} is {locked.get_status_display().lower()}; "
                "only a full cohort is reviewed."
            )
        review = audited_save(
            SafetyReview(
                cohort=locked,
                decision=decision,
                rationale=rationale.strip(),
                expand_by=expand_by if decision == SafetyDecision.STAY else 0,
                decided_by=actor,
                decided_at=now,
            ),
            actor=actor,
        )
        reason = f"Safety review: {decision}"
        if decision == SafetyDecision.STAY:
            locked.status = CohortStatus.OPEN
            audited_save(locked, actor=actor, reason=reason)
        elif decision == SafetyDecision.STOP:
            locked.status = CohortStatus.STOPPED
            audited_save(locked, actor=actor, reason=reason)
            for later in Cohort.objects.filter(trial=locked.trial, status=CohortStatus.PLANNED):
                later.status = CohortStatus.STOPPED
                audited_save(later, actor=actor, reason=reason)
        else:
            locked.status = CohortStatus.REVIEWED
            audited_save(locked, actor=actor, reason=reason)
            following = (
                Cohort.objects.filter(
                    trial=locked.trial, status=CohortStatus.PLANNED, order__gt=locked.order
                )
                .order_by("order")
                .first()
            )
            if following is not None:
                following.status = CohortStatus.OPEN
                audited_save(
                    following, actor=actor, reason=f"Opened after safety review of {locked.code}"
                )
        return review

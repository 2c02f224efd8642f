"""Writes for trials: protocols, memberships, participants, randomization, unblinding, arm reads."""

from trials.services.blinding import (
    ArmRead,
    allocation_read,
    arm_read_record,
    arm_reads_record,
    dsmb_release_grant,
    dsmb_release_revoke,
)
from trials.services.memberships import membership_end, membership_grant
from trials.services.participants import (
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    eligibility_outcome,
    participant_complete,
    participant_lost_to_follow_up,
    participant_register,
    participant_screen_fail,
    participant_withdraw,
)
from trials.services.protocols import LoadResult, protocol_load
from trials.services.randomization import (
    active_cohort,
    allocation_generate,
    allocation_import,
    dose_escalation_running,
    participant_enrol,
    participant_randomize,
    participant_unblind,
    safety_review_record,
)

__all__ = [
    "ArmRead",
    "LoadResult",
    "active_cohort",
    "allocation_generate",
    "allocation_import",
    "allocation_read",
    "arm_read_record",
    "arm_reads_record",
    "consent_record",
    "dose_escalation_running",
    "dsmb_release_grant",
    "dsmb_release_revoke",
    "eligibility_answer",
    "eligibility_confirm",
    "eligibility_outcome",
    "membership_end",
    "membership_grant",
    "participant_complete",
    "participant_enrol",
    "participant_lost_to_follow_up",
    "participant_randomize",
    "participant_register",
    "participant_screen_fail",
    "participant_unblind",
    "participant_withdraw",
    "protocol_load",
    "safety_review_record",
]

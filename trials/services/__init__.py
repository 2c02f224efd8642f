"""Writes for trials: protocols, memberships, participants, randomization and unblinding."""

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
    allocation_of,
    dose_escalation_running,
    participant_enrol,
    participant_randomize,
    participant_unblind,
    safety_review_record,
)

__all__ = [
    "LoadResult",
    "active_cohort",
    "allocation_generate",
    "allocation_import",
    "allocation_of",
    "consent_record",
    "dose_escalation_running",
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

"""Writes for trials: protocols, staff, participants, randomization, unblinding, arm reads."""

from trials.services.blinding import (
    ArmRead,
    allocation_read,
    arm_read_record,
    arm_reads_record,
    dsmb_release_grant,
    dsmb_release_revoke,
)
from trials.services.memberships import (
    Invitation,
    Removal,
    membership_end,
    membership_grant,
    role_request_approve,
    role_request_reject,
    staff_invitation_resend,
    staff_invite,
    staff_remove,
)
from trials.services.participants import (
    consent_record,
    eligibility_answer,
    eligibility_confirm,
    eligibility_outcome,
    participant_complete,
    participant_lost_to_follow_up,
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
    safety_review_record,
)
from trials.services.unblinding import participant_unblind

__all__ = [
    "ArmRead",
    "Invitation",
    "LoadResult",
    "Removal",
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
    "participant_screen_fail",
    "participant_unblind",
    "participant_withdraw",
    "protocol_load",
    "role_request_approve",
    "role_request_reject",
    "safety_review_record",
    "staff_invitation_resend",
    "staff_invite",
    "staff_remove",
]

"""Trials, their sites and the memberships that give people roles in them, participants,
cohorts, allocation and blinding; imported here so Django finds every model."""

# In the order the models were declared when they were one module, so that the app registry,
# and every loop over its models, keeps that order.
# isort: off
from trials.models.trial import ProtocolVersion, Trial
from trials.models.sites import (
    Membership,
    MembershipQuerySet,
    RoleGrantRequest,
    RoleRequestStatus,
    Site,
    check_role_site,
    validate_time_zone,
)
from trials.models.cohorts import Cohort, CohortStatus, SafetyDecision, SafetyReview
from trials.models.participants import (
    Consent,
    CriterionKind,
    EligibilityAnswer,
    EligibilityReconfirmation,
    Participant,
    ParticipantStatus,
    Sex,
    SiteCounter,
)
from trials.models.allocation import (
    AllocationList,
    AllocationRead,
    AllocationSlot,
    ArmGround,
    DsmbRelease,
    ReadChannel,
    UnblindingEvent,
)
# isort: on

__all__ = [
    "AllocationList",
    "AllocationRead",
    "AllocationSlot",
    "ArmGround",
    "Cohort",
    "CohortStatus",
    "Consent",
    "CriterionKind",
    "DsmbRelease",
    "EligibilityAnswer",
    "EligibilityReconfirmation",
    "Membership",
    "MembershipQuerySet",
    "Participant",
    "ParticipantStatus",
    "ProtocolVersion",
    "ReadChannel",
    "RoleGrantRequest",
    "RoleRequestStatus",
    "SafetyDecision",
    "SafetyReview",
    "Sex",
    "Site",
    "SiteCounter",
    "Trial",
    "UnblindingEvent",
    "check_role_site",
    "validate_time_zone",
]

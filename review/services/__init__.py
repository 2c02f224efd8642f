"""Writes for monitor review: queries, source data verification, e-signatures, locks, and what a
change to form data voids."""

from review.services.locks import LOCK_ROLES, lock_apply, lock_release, trial_is_locked
from review.services.queries import (
    CLOSED_BY_CHECK,
    REOPENED_BY_CHECK,
    REOPENER_ROLES,
    FormKind,
    automatic_query,
    automatic_query_key,
    queries_from_warnings,
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_requery,
)
from review.services.records import review_record_changed
from review.services.sdv import (
    SDV_ROLES,
    SdvRequirement,
    sdv_plan,
    sdv_requirement,
    sdv_scope,
    sdv_selected,
    sdv_verify,
)
from review.services.signatures import signature_sign

__all__ = [
    "CLOSED_BY_CHECK",
    "LOCK_ROLES",
    "REOPENED_BY_CHECK",
    "REOPENER_ROLES",
    "SDV_ROLES",
    "FormKind",
    "SdvRequirement",
    "automatic_query",
    "automatic_query_key",
    "lock_apply",
    "lock_release",
    "queries_from_warnings",
    "query_answer",
    "query_close",
    "query_open",
    "query_reopen",
    "query_requery",
    "review_record_changed",
    "sdv_plan",
    "sdv_requirement",
    "sdv_scope",
    "sdv_selected",
    "sdv_verify",
    "signature_sign",
    "trial_is_locked",
]

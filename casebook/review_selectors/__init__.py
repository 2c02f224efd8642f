"""Reads for monitor review: the work queue, queries, one record under review, the audit trail."""

from casebook.review_selectors.audit import (
    AUDIT_CSV_HEADER,
    CONSENT_FIELDS,
    ELIGIBILITY_FIELDS,
    FORM_STATE_FIELDS,
    PARTICIPANT_FIELDS,
    TRIAL_RECORDS,
    VISIT_FIELDS,
    AuditRow,
    audit_trail,
    audit_trail_csv,
    audit_trail_csv_lines,
    audit_value,
)
from casebook.review_selectors.queries import lock_get, lock_list, query_get, query_list
from casebook.review_selectors.queue import (
    QUEUE_SECTIONS,
    FormToVerify,
    QueuedQuery,
    ReviewQueue,
    review_queue,
)
from casebook.review_selectors.record import (
    FieldReview,
    QueryView,
    RecordReview,
    audit_form_choices,
    field_labels,
    form_record_get,
    record_review,
)
from casebook.review_selectors.scope import REVIEW_ROLES, age_days

__all__ = [
    "AUDIT_CSV_HEADER",
    "CONSENT_FIELDS",
    "ELIGIBILITY_FIELDS",
    "FORM_STATE_FIELDS",
    "PARTICIPANT_FIELDS",
    "QUEUE_SECTIONS",
    "REVIEW_ROLES",
    "TRIAL_RECORDS",
    "VISIT_FIELDS",
    "AuditRow",
    "FieldReview",
    "FormToVerify",
    "QueryView",
    "QueuedQuery",
    "RecordReview",
    "ReviewQueue",
    "age_days",
    "audit_form_choices",
    "audit_trail",
    "audit_trail_csv",
    "audit_trail_csv_lines",
    "audit_value",
    "field_labels",
    "form_record_get",
    "lock_get",
    "lock_list",
    "query_get",
    "query_list",
    "record_review",
    "review_queue",
]

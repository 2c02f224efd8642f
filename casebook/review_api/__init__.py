"""API for review: queries, SDV, e-signatures, locks, the review queue, the audit trail and the
monitoring dashboard."""

from casebook.review_api.audit import AuditTrailCsvView, AuditTrailView
from casebook.review_api.locks import LockListView, LockReleaseView
from casebook.review_api.monitoring import MonitoringView
from casebook.review_api.queries import (
    QueryAnswerView,
    QueryCloseView,
    QueryDetailView,
    QueryListView,
    QueryReopenView,
    QueryRequeryView,
)
from casebook.review_api.queue import ReviewQueueView
from casebook.review_api.sdv import SourceVerifyView
from casebook.review_api.signatures import SignatureView, VisitSignaturesView

__all__ = [
    "AuditTrailCsvView",
    "AuditTrailView",
    "LockListView",
    "LockReleaseView",
    "MonitoringView",
    "QueryAnswerView",
    "QueryCloseView",
    "QueryDetailView",
    "QueryListView",
    "QueryReopenView",
    "QueryRequeryView",
    "ReviewQueueView",
    "SignatureView",
    "SourceVerifyView",
    "VisitSignaturesView",
]

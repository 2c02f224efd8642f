"""API routes for monitor review: queries, SDV, signatures, locks, queue, audit trail and the
monitoring dashboard."""

from django.urls import path

from casebook import review_api as api
from casebook.review_api.queue import QUEUE_LIST_ROUTES

urlpatterns = [
    path("queries/", api.QueryListView.as_view(), name="query-list"),
    path("queries/<int:query_id>/", api.QueryDetailView.as_view(), name="query-detail"),
    path("queries/<int:query_id>/answer/", api.QueryAnswerView.as_view(), name="query-answer"),
    path("queries/<int:query_id>/close/", api.QueryCloseView.as_view(), name="query-close"),
    path("queries/<int:query_id>/requery/", api.QueryRequeryView.as_view(), name="query-requery"),
    path("queries/<int:query_id>/reopen/", api.QueryReopenView.as_view(), name="query-reopen"),
    path(
        "participants/<int:participant_id>/forms/<slug:code>/<int:record_id>/sdv/",
        api.SourceVerifyView.as_view(),
        name="form-sdv",
    ),
    path(
        "participants/<int:participant_id>/signatures/",
        api.SignatureView.as_view(),
        name="participant-signatures",
    ),
    path("signatures/visits/", api.VisitSignaturesView.as_view(), name="visit-signatures"),
    path(
        "participants/<int:participant_id>/audit-trail/",
        api.AuditTrailView.as_view(),
        name="participant-audit-trail",
    ),
    path(
        "participants/<int:participant_id>/audit-trail.csv",
        api.AuditTrailCsvView.as_view(),
        name="participant-audit-trail-csv",
    ),
    path("locks/", api.LockListView.as_view(), name="lock-list"),
    path("locks/<int:lock_id>/release/", api.LockReleaseView.as_view(), name="lock-release"),
    path("trials/<slug:code>/review-queue/", api.ReviewQueueView.as_view(), name="review-queue"),
    path("trials/<slug:code>/monitoring/", api.MonitoringView.as_view(), name="monitoring"),
    *(
        path(
            f"trials/<slug:code>/review-queue/{route}/",
            view.as_view(section=section),
            name=f"review-queue-{route}",
        )
        for route, view, section in QUEUE_LIST_ROUTES
    ),
]

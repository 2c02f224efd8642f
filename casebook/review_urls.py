"""Web routes for review: the queue, one form under review and its actions, the audit trail."""

from django.urls import path

from casebook import review_views as views

app_name = "review"

_record = "participants/<int:participant_id>/<slug:code>/<int:record_id>/"
urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("sign/", views.bulk_sign_view, name="bulk-sign"),
    path(_record, views.record_view, name="record"),
    path(f"{_record}queries/", views.query_open_view, name="query-open"),
    path(f"{_record}sdv/", views.sdv_view, name="sdv"),
    path(f"{_record}sign/", views.sign_view, name="sign"),
    path("queries/<int:query_id>/<slug:step>/", views.query_step_view, name="query-step"),
    path(
        "participants/<int:participant_id>/audit-trail/",
        views.audit_trail_view,
        name="audit-trail",
    ),
    path(
        "participants/<int:participant_id>/audit-trail.csv",
        views.audit_trail_csv_view,
        name="audit-trail-csv",
    ),
]

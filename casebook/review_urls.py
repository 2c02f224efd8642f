"""Web routes for review: the queue, one form under review and its actions, the audit trail,
the monitoring dashboard and the monitoring visit report."""

from django.urls import path

from casebook import monitor_views
from casebook import review_views as views

app_name = "review"

_record = "participants/<int:participant_id>/<slug:code>/<int:record_id>/"
urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("sign/", views.bulk_sign_view, name="bulk-sign"),
    path("monitoring/", monitor_views.dashboard_view, name="monitoring"),
    path("monitoring/trends.svg", monitor_views.trends_svg, name="monitoring-trends"),
    path("monitoring/report/", monitor_views.visit_report_view, name="visit-report"),
    path("monitoring/report.csv", monitor_views.visit_report_csv_view, name="visit-report-csv"),
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

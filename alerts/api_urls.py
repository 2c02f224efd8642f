"""API routes for alerts."""

from django.urls import path

from alerts import api

urlpatterns = [
    path("alerts/", api.AlertListView.as_view(), name="alert-list"),
    path("alerts/<int:alert_id>/", api.AlertDetailView.as_view(), name="alert-detail"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        api.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
]

"""API routes for safety: the SAE and SUSAR reporting clocks, and recording reports made."""

from django.urls import path

from safety import api

urlpatterns = [
    path("trials/<slug:code>/sae-clock/", api.SaeClockView.as_view(), name="sae-clock"),
    path(
        "adverse-events/<int:adverse_event_id>/reports/",
        api.ReportView.as_view(),
        name="adverse-event-report",
    ),
]

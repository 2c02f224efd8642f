"""API routes for safety: the SAE and SUSAR reporting clocks."""

from django.urls import path

from safety import api

urlpatterns = [
    path("trials/<slug:code>/sae-clock/", api.SaeClockView.as_view(), name="sae-clock"),
]

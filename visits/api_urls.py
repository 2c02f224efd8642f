"""API routes for participants with their visits: the list and registration, Day 0, the schedule."""

from django.urls import path

from visits import api

urlpatterns = [
    path(
        "trials/<slug:code>/participants/",
        api.ParticipantListView.as_view(),
        name="participant-list",
    ),
    path(
        "participants/<int:participant_id>/day0/",
        api.Day0View.as_view(),
        name="participant-day0",
    ),
    path(
        "participants/<int:participant_id>/visits/",
        api.ParticipantVisitsView.as_view(),
        name="participant-visits",
    ),
    path(
        "visits/<int:visit_id>/unscheduled/",
        api.VisitUnscheduledView.as_view(),
        name="visit-unscheduled",
    ),
]

"""API routes of visit recording: done on a date, or not done."""

from django.urls import path

from casebook import visit_api

urlpatterns = [
    path("visits/<int:visit_id>/record/", visit_api.VisitRecordView.as_view(), name="visit-record"),
    path(
        "visits/<int:visit_id>/not-done/",
        visit_api.VisitNotDoneView.as_view(),
        name="visit-not-done",
    ),
]

"""Web route of visit recording (in the trials namespace, composed in ecrf.urls)."""

from django.urls import path

from casebook import visit_views

urlpatterns = [
    path("visits/<int:visit_id>/record/", visit_views.visit_record_view, name="visit-record"),
]

"""API routes of the casebook: the grid, and one route per form operation, the form's code in
the path."""

from django.urls import path

from casebook import forms_api

_form = "participants/<int:participant_id>/forms/<slug:form_code>/"
urlpatterns = [
    path(
        "participants/<int:participant_id>/casebook/",
        forms_api.CasebookView.as_view(),
        name="casebook",
    ),
    path(_form, forms_api.FormRecordsView.as_view(), name="form-list"),
    path(f"{_form}not-done/", forms_api.FormNotDoneView.as_view(), name="form-not-done"),
    path(f"{_form}<int:record_id>/", forms_api.FormRecordView.as_view(), name="form-detail"),
    path(
        f"{_form}<int:record_id>/history/",
        forms_api.FormHistoryView.as_view(),
        name="form-history",
    ),
]

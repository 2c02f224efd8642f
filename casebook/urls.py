"""Web routes of the casebook: the trial's grid, a participant's grid, and per form its log,
entry, not-done and history."""

from django.urls import path

from casebook import forms_views, workspace_views

app_name = "casebook"
_form = "<int:participant_id>/<slug:form_code>/"
urlpatterns = [
    path("", workspace_views.grid, name="trial-grid"),
    path("<int:participant_id>/", forms_views.casebook, name="grid"),
    path(_form, forms_views.log, name="log"),
    path(f"{_form}new/", forms_views.entry, name="entry-new"),
    path(f"{_form}not-done/", forms_views.not_done, name="not-done"),
    path(f"{_form}<int:record_id>/", forms_views.entry, name="entry-edit"),
    path(f"{_form}<int:record_id>/history/", forms_views.history, name="history"),
]

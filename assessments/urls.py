"""Web routes of the casebook."""

from django.urls import path

from assessments import views

app_name = "casebook"
urlpatterns = [
    path("<int:participant_id>/", views.casebook, name="grid"),
    path("<int:participant_id>/<slug:code>/", views.log, name="log"),
    path("<int:participant_id>/<slug:code>/new/", views.entry, name="entry-new"),
    path("<int:participant_id>/<slug:code>/not-done/", views.not_done, name="not-done"),
    path("<int:participant_id>/<slug:code>/<int:record_id>/", views.entry, name="entry-edit"),
    path(
        "<int:participant_id>/<slug:code>/<int:record_id>/history/", views.history, name="history"
    ),
]

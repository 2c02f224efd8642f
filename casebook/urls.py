"""Web routes of the casebook: the trial's grid, a participant's grid, the charts, and per form
its log, entry, the live preview of an entry, not-done and history."""

from django.urls import path

from casebook import chart_views, forms_views, workspace_views

app_name = "casebook"
_form = "<int:participant_id>/<slug:form_code>/"
urlpatterns = [
    path("", workspace_views.grid, name="trial-grid"),
    path("<int:participant_id>/", forms_views.casebook, name="grid"),
    # Before the form routes, which would read "charts" as a form code.
    path("<int:participant_id>/charts/", chart_views.participant_charts, name="charts"),
    path(
        "<int:participant_id>/charts/<slug:measure>.svg",
        chart_views.participant_chart_svg,
        name="chart-svg",
    ),
    path("trial-charts/", chart_views.trial_charts, name="trial-charts"),
    path("trial-charts/<slug:chart>.svg", chart_views.trial_chart_svg, name="trial-chart-svg"),
    path(_form, forms_views.log, name="log"),
    path(f"{_form}new/", forms_views.entry, name="entry-new"),
    path(f"{_form}new/preview/", forms_views.preview, name="preview-new"),
    path(f"{_form}not-done/", forms_views.not_done, name="not-done"),
    path(f"{_form}<int:record_id>/", forms_views.entry, name="entry-edit"),
    path(f"{_form}<int:record_id>/preview/", forms_views.preview, name="preview-edit"),
    path(f"{_form}<int:record_id>/history/", forms_views.history, name="history"),
]

"""API routes for exports: request, poll and download exports; DSMB releases."""

from django.urls import path

from exports import api

urlpatterns = [
    path("exports/", api.ExportListView.as_view(), name="export-list"),
    path("exports/releases/", api.ReleaseListView.as_view(), name="dsmb-release-list"),
    path(
        "exports/releases/<int:release_id>/revoke/",
        api.ReleaseRevokeView.as_view(),
        name="dsmb-release-revoke",
    ),
    path("exports/<int:export_id>/", api.ExportDetailView.as_view(), name="export-detail"),
    path(
        "exports/<int:export_id>/download/",
        api.ExportDownloadView.as_view(),
        name="export-download",
    ),
]

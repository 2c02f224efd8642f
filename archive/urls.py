"""Web routes of the archive: the site archive, a casebook as PDF, the annotated CRF."""

from django.urls import path

from archive import views

app_name = "archive"

urlpatterns = [
    path("", views.site_archives_view, name="site-archives"),
    path("request/", views.site_archive_request_view, name="site-archive-request"),
    path("<int:pk>/row/", views.site_archive_row_view, name="site-archive-row"),
    path("<int:pk>/download/", views.site_archive_download_view, name="site-archive-download"),
    path(
        "participants/<int:participant_id>/casebook.pdf",
        views.casebook_pdf_view,
        name="casebook-pdf",
    ),
    path("crf/", views.annotated_crf_view, name="annotated-crf"),
    path("crf.pdf", views.annotated_crf_pdf_view, name="annotated-crf-pdf"),
]

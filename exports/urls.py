"""Web routes for exports: the statisticians' page, a request, a polled row, a download."""

from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("", views.export_list_view, name="list"),
    path("request/", views.export_request_view, name="request"),
    path("<int:pk>/row/", views.export_row_view, name="row"),
    path("<int:pk>/download/", views.export_download_view, name="download"),
]

"""Web routes for coding."""

from django.urls import path

from coding import views

app_name = "coding"

urlpatterns = [
    path("", views.coding_list_view, name="list"),
    path("autocode/", views.coding_autocode_view, name="autocode"),
    path("<slug:form_code>/<int:record_id>/", views.coding_record_view, name="record"),
]

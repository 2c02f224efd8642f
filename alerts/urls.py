"""Web routes for alerts."""

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list_view, name="list"),
    path("nav/", views.nav_view, name="nav"),
    path("<int:pk>/acknowledge/", views.acknowledge_view, name="acknowledge"),
]

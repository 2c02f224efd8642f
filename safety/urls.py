"""Web routes for safety."""

from django.urls import path

from safety import views

app_name = "safety"

urlpatterns = [
    path("clock/", views.clock_view, name="clock"),
]

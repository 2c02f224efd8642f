"""Web routes at the root of the site: the home page with its to-do list, and the search."""

from django.urls import path

from casebook import workspace_views

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("search/", workspace_views.search, name="search"),
]

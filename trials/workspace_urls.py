"""Web routes at the root of the site: the home page and the choice of workspace."""

from django.urls import path

from trials import workspace_views

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("workspace/", workspace_views.choose_workspace, name="choose-workspace"),
]

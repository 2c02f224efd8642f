"""Web route at the root of the site: the choice of workspace."""

from django.urls import path

from trials import workspace_views

urlpatterns = [
    path("workspace/", workspace_views.choose_workspace, name="choose-workspace"),
]

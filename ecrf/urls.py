"""URL routes: web pages, the API under /api/v1/, its schema and docs, admin and health."""

from django.contrib import admin
from django.urls import include, path

from ecrf import api_docs, views

# The pages under /trials/ keep one namespace though they live on different floors: the
# participant pages with their visits (visits), visit recording (casebook) and the staff pages
# (trials).
trials_pages = [
    path("", include("visits.urls")),
    path("", include("casebook.visit_urls")),
    path("", include("trials.urls")),
]

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("trials.api_urls")),
    path("", include("visits.api_urls")),
    path("", include("casebook.visit_api_urls")),
    path("", include("casebook.api_urls")),
    path("", include("alerts.api_urls")),
    path("", include("safety.api_urls")),
    path("", include("casebook.review_api_urls")),
    path("", include("exports.api_urls")),
]

urlpatterns = [
    path("", include("casebook.workspace_urls")),
    path("", include("trials.workspace_urls")),
    path("health/", views.health, name="health"),
    path("accounts/", include("accounts.urls")),
    path("trials/", include((trials_pages, "trials"))),
    path("casebook/", include("casebook.urls")),
    path("alerts/", include("alerts.urls")),
    path("safety/", include("safety.urls")),
    path("coding/", include("coding.urls")),
    path("review/", include("casebook.review_urls")),
    path("exports/", include("exports.urls")),
    path("archive/", include("archive.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", api_docs.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", api_docs.docs_view, name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
]

# The API answers with its JSON error body even where no view of it was reached.
handler404 = "ecrf.views.not_found"
handler500 = "ecrf.views.server_error"

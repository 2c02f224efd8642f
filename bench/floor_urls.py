"""The site's routes and, after them, the floor of an audited save (bench.floor): the URLconf
of the gunicorn that the CRF save benchmark measures, never of the site."""

from django.urls import path

from bench.floor import FloorSaveView
from ecrf.urls import handler404, handler500
from ecrf.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    *site_urlpatterns,
    path("bench/floor/vitals/<int:record_id>/", FloorSaveView.as_view()),
]

__all__ = ["handler404", "handler500", "urlpatterns"]

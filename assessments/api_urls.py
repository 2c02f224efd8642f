"""API routes for case report forms, one set per form type."""

from django.urls import path

from assessments.api import CasebookView, build_views
from assessments.registry import form_types

urlpatterns = [
    path("participants/<int:participant_id>/casebook/", CasebookView.as_view(), name="casebook"),
]
for _code, _ftype in form_types().items():
    _views = build_views(_ftype)
    _base = f"participants/<int:participant_id>/forms/{_code}/"
    urlpatterns += [
        path(_base, _views["list"].as_view(), name=f"form-{_code}-list"),
        path(f"{_base}not-done/", _views["not_done"].as_view(), name=f"form-{_code}-not-done"),
        path(f"{_base}<int:record_id>/", _views["detail"].as_view(), name=f"form-{_code}-detail"),
        path(
            f"{_base}<int:record_id>/history/",
            _views["history"].as_view(),
            name=f"form-{_code}-history",
        ),
    ]

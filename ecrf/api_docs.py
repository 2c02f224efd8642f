"""The OpenAPI schema and its interactive docs: for signed-in users unless API_DOCS_PUBLIC."""

from __future__ import annotations

from typing import Any

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request


def _permissions() -> list[BasePermission]:
    # Read per request, so that a deployment (or a test) can change the setting.
    return [AllowAny()] if settings.API_DOCS_PUBLIC else [IsAuthenticated()]


class SchemaView(SpectacularAPIView):
    """The schema: a client that is not signed in (session or token) gets 401."""

    def get_permissions(self) -> list[BasePermission]:
        return _permissions()


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI, its start-up script served apart from the page (no inline script); a
    person who is not signed in is sent to the sign-in page and back."""

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)


# Swagger UI styles itself with an inline style element and attributes, and draws its icons
# from data: URIs; the allowance is for this page alone.
docs_view = csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["data:"]})(
    DocsView.as_view(url_name="api-schema")
)

"""One domain error type, rendered by one API handler and one HTML error path."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A rule of the trial was not met; the message is for the person at the keyboard."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    @classmethod
    def from_validation_error(cls, error: DjangoValidationError) -> DomainError:
        if hasattr(error, "error_dict"):
            fields = {name: list(messages) for name, messages in error.message_dict.items()}
            non_field = fields.pop("__all__", [])
            message = " ".join(non_field) or gettext("Please correct the fields shown.")
            return cls(message, fields=fields)
        return cls(" ".join(str(m) for m in error.messages))

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class NotFoundError(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class PermissionDeniedError(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class ConflictError(DomainError):
    """Someone else saved first: the caller must reload and apply the change again."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class InvalidTransitionError(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "invalid_transition"


class ErrorBodyOutput(serializers.Serializer):
    code = serializers.CharField(
        help_text="invalid, not_authenticated, authentication_failed, permission_denied, "
        "not_found, conflict, invalid_transition, locked, ..."
    )
    message = serializers.CharField(help_text="What went wrong, for the person at the keyboard.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by field name; empty when the error is not about a field.",
    )


class ErrorOutput(serializers.Serializer):
    """The body of every error answer of the API, as `api_exception_handler` renders it."""

    error = ErrorBodyOutput()


def _drf_fields(detail: Any) -> dict[str, list[str]]:
    """Messages by field name; a nested serializer's fields (a form's `data`) by their own names,
    as the form's rule checks name them."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(value, dict):
                for name, messages in _drf_fields(value).items():
                    fields.setdefault(name, []).extend(messages)
            else:
                items = value if isinstance(value, list) else [value]
                fields.setdefault(str(key), []).extend(str(item) for item in items)
    return fields


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error as `{"error": {"code", "message", "fields"}}`."""
    if isinstance(exc, DjangoValidationError):
        exc = DomainError.from_validation_error(exc)
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _drf_fields(detail)
        message = " ".join(fields.pop("non_field_errors", [])) or gettext(
            "Please correct the fields shown."
        )
        if isinstance(detail, list):
            message = " ".join(str(item) for item in detail)
        code = "invalid"
    else:
        fields = {}
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        code = getattr(exc, "default_code", "error")
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response


class DomainErrorMiddleware:
    """The HTML error path: a DomainError that reaches the top becomes a readable page."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DjangoValidationError):
            exception = DomainError.from_validation_error(exception)
        if not isinstance(exception, DomainError):
            return None
        return render(
            request,
            "errors/domain_error.html",
            {"error": exception},
            status=exception.status_code,
        )

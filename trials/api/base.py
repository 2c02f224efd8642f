"""What every API view of the trials app shares: pagination and input validation."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ecrf.pagination import PageInput, Pagination

PAGE_PARAMETERS = [PageInput]


class PageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


def page(
    request: Request, view: APIView, rows: Any, serializer: type[serializers.Serializer]
) -> Response:
    """One page of `rows` (?limit=&offset=) with the count and links to the next and previous."""
    paginator = Pagination()
    shown: list[Any] | None = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer(shown, many=True).data)


def valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The validated input, or a 400 naming each field that is wrong."""
    params = serializer_class(data=data)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)

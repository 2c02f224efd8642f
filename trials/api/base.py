"""What every API view of the trials app shares: pagination and input validation."""

from __future__ import annotations

from collections.abc import Callable
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
    request: Request,
    view: APIView,
    rows: Any,
    serializer: type[serializers.Serializer],
    *,
    shown: Callable[[list[Any]], list[Any]] | None = None,
) -> Response:
    """One page of `rows` (?limit=&offset=) with the count and links to the next and previous;
    `shown` turns the page's rows into what the serializer reads."""
    paginator = Pagination()
    cut: list[Any] = paginator.paginate_queryset(rows, request, view=view) or []
    data = serializer(shown(cut) if shown else cut, many=True).data
    return paginator.get_paginated_response(data)


def valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The validated input, or a 400 naming each field that is wrong."""
    params = serializer_class(data=data)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)

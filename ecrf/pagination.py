"""The one page rule of every API list (`?limit=&offset=`, at most MAX_PAGE_SIZE rows a page)
and of the lists of the staff pages (PAGE_SIZE_SHOWN rows a page)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.views import APIView

DEFAULT_PAGE_SIZE = 100
# A larger page is cut to this size: a page of every row would be one unbounded query.
MAX_PAGE_SIZE = 500
# The largest number SQL accepts in OFFSET (a signed 64-bit integer); LIMIT is capped above.
_SQL_BIGINT_MAX = 2**63 - 1


class PageInput(serializers.Serializer):
    """The query parameters of a page; also what the OpenAPI schema says of them."""

    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=f"Rows per page: {DEFAULT_PAGE_SIZE} unless given; more than "
        f"{MAX_PAGE_SIZE} gives {MAX_PAGE_SIZE}.",
    )
    offset = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=_SQL_BIGINT_MAX,
        help_text="Rows to skip.",
    )


class Pagination(LimitOffsetPagination):
    """LimitOffsetPagination whose parameters are checked: a limit or offset that is not a
    whole number in range answers 400 naming it, and a limit above MAX_PAGE_SIZE is cut to
    it. Plain DRF would pass an unbounded limit to the database, which fails past 2**63."""

    default_limit = DEFAULT_PAGE_SIZE
    max_limit = MAX_PAGE_SIZE

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        params = PageInput(
            data={
                name: request.query_params[name]
                for name in (self.limit_query_param, self.offset_query_param)
                if name in request.query_params
            }
        )
        params.is_valid(raise_exception=True)
        return super().paginate_queryset(queryset, request, view)


# Rows a page shows on the staff pages.
PAGE_SIZE_SHOWN = 50


class CountedPaginator(Paginator):
    """A Paginator told its row count, already counted with others in one query."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def page_shown(
    rows: Any, number: Any, *, count: int | None = None, size: int | None = None
) -> Page:
    """One page of `rows` for a staff page (PAGE_SIZE_SHOWN rows unless `size`): the given
    page, the first when it is not a number, the last when it is past the end; `count` when
    the rows are already counted."""
    size = size or PAGE_SIZE_SHOWN
    paginator = (
        Paginator(rows, size) if count is None else CountedPaginator(rows, size, count=count)
    )
    return paginator.get_page(number)

from collections.abc import Callable
from typing import Any

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework import pagination
from rest_framework.response import Response


class Paginator(DjangoPaginator):
    """Django's paginator, without the COUNT query when the first page is not full.

    Most lists the apps poll (a driver's offers, a resident's rides, their notifications)
    fit on the first page; there the rows fetched are the count, and counting them again
    in the database cost about as much CPU as fetching them. Other pages, and a full first
    page, are counted as before, so `count`, `next` and `previous` stay the same.
    """

    def page(self, number) -> Page:
        if self.orphans or not self.allow_empty_first_page or str(number) != "1":
            return super().page(number)
        rows = list(self.object_list[: self.per_page])
        if len(rows) < self.per_page:
            # `count` is a cached_property: seed it with what the page holds.
            self.__dict__["count"] = len(rows)
        # Page 1 is always valid when an empty first page is allowed (DRF's default).
        return self._get_page(rows, 1, self)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = Paginator
    page_size_query_param = "page_size"
    max_page_size = 200


class RowsBySql:
    """A list read with written-out SQL (backend/db.py), for the paginator above: it
    slices (`rows(offset, limit)`, only the page asked for) and counts (`count()`, only
    when the paginator needs the count), as a queryset would."""

    def __init__(self, rows: Callable[[int, int], list], count: Callable[[], int]) -> None:
        self._rows = rows
        self._count = count

    def __getitem__(self, window: slice) -> list:
        start = window.start or 0
        return self._rows(start, window.stop - start)

    def count(self) -> int:
        return self._count()


def paginated_rows(
    view,
    *,
    rows: Callable[[int, int], list],
    count: Callable[[], int],
    shape: Callable[[dict], Any],
) -> Response:
    """The paginated response of a list view whose rows are read with SQL (`RowsBySql`):
    the page the request asks for, each row shaped by `shape`."""
    page = view.paginate_queryset(RowsBySql(rows=rows, count=count))
    return view.get_paginated_response([shape(row) for row in page])

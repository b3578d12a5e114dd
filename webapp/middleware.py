"""Middleware of the resident pages."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class MethodNotAllowedPage:
    """An address that only takes a form's POST, opened as a page: from a bookmark, or
    by the sign-in's way back to where a form was sent after the session had ended.
    Django answers an empty 405, a blank page; this answers with a page that says
    nothing was done and what to do. The API's 405s keep their JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or response.streaming
            or response.content
            or request.method not in ("GET", "HEAD")
            or request.path.startswith("/api/")
        ):
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response["Allow"]
        return page

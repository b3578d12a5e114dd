"""Middleware of the resident pages."""

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _


class MethodNotAllowedPage:
    """An address that only takes a form's POST, opened as a page: from a bookmark, or
    a link copied from the address bar. Django answers an empty 405, a blank page; this
    answers with a page that says nothing was done and what to do. The API's 405s keep
    their JSON."""

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


class BackToTheFormAfterSignIn:
    """A form sent after the session had ended goes to the sign-in page, and Django's
    way back from there is the address the form was sent to: only a button can use it,
    so the person landed on a page saying nothing was done. The way back is now the page
    the form was on (the Referer, when it is a page of this site), and the sign-in page
    says the form was not sent."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method != "POST" or response.status_code != 302:
            return response
        location = urlsplit(response["Location"])
        if location.path != resolve_url(settings.LOGIN_URL):
            return response
        query = parse_qs(location.query)
        if query.get("next") != [request.get_full_path()]:
            return response
        query["next"] = [self._form_page(request)]
        response["Location"] = location._replace(query=urlencode(query, doseq=True)).geturl()
        messages.info(
            request,
            _(
                "You had been signed out, so the form was not sent. Sign in, and you will be "
                "back on its page to send it again."
            ),
        )
        return response

    @staticmethod
    def _form_page(request: HttpRequest) -> str:
        referer = request.headers.get("Referer", "")
        if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            page = urlsplit(referer)
            if page.path != resolve_url(settings.LOGIN_URL):
                return page._replace(scheme="", netloc="").geturl()
        return resolve_url("webapp:home")

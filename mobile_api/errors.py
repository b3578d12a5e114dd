"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""

import logging
import math
import sys
from dataclasses import dataclass
from typing import Any

import psycopg
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backend.errors import ApplicationError, ErrorKind
from mobile_api.throttles import TooManyBookings

logger = logging.getLogger(__name__)

STATUS_BY_KIND = {
    ErrorKind.INVALID: status.HTTP_400_BAD_REQUEST,
    ErrorKind.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ErrorKind.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorKind.CONFLICT: status.HTTP_409_CONFLICT,
}


def error_body(
    code: str, message: Any, fields: dict | None = None, extra: dict | None = None
) -> dict:
    return {
        "error": {"code": code, "message": str(message), "fields": fields or {}, **(extra or {})}
    }


def _flatten_fields(detail: Any) -> dict[str, list[str]]:
    """DRF's nested validation detail as {"field": ["message", ...]}; nested keys are
    joined with dots ("pickup.lat")."""
    fields: dict[str, list[str]] = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(value, list) and value and isinstance(value[0], dict | list):
            for index, inner in enumerate(value):
                walk(inner, f"{prefix}.{index}" if prefix else str(index))
        elif isinstance(value, list):
            fields.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
        else:
            fields.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk(detail, "")
    return fields


@dataclass(frozen=True)
class Unavailable:
    """Why a request could not be served just now, and when to try again."""

    message: str
    retry_after: int


def database_unavailable(exc: BaseException | None) -> Unavailable | None:
    """A passing state of the database, not a bug: it is restarting or out of reach, or
    it rolled this request's transaction back to let another one through (a deadlock,
    which a second try gets past). None for any other error."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    if isinstance(
        exc.__cause__, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
    ):
        return Unavailable(
            str(_("Samby was too busy to finish this just now. Try again in a moment.")), 1
        )
    return Unavailable(
        str(_("Samby cannot reach its database just now. Try again in a minute.")), 30
    )


def throttled_message(exc: exceptions.Throttled) -> str:
    """What to tell a person a limit stopped: a whole sentence and the wait in words.
    Bookings are worded as on the web pages' "Too many bookings" page."""
    wait = wait_text(exc.wait or 0)
    if isinstance(exc, TooManyBookings):
        text = _(
            "You have made many bookings in a short time. Wait %(wait)s and try again, or "
            "call your association."
        )
    else:
        text = _("Too many requests in a short time. Wait %(wait)s and try again.")
    return text % {"wait": wait}


def wait_text(seconds: float) -> str:
    """A wait in words, rounded up: seconds under a minute, minutes up to two hours (the
    booking limit's longest wait, which the web pages give in minutes), else hours
    ("45 seconds", "48 minutes", "20 hours")."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    if minutes <= 120:
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    hours = math.ceil(seconds / 3600)
    return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    unavailable = database_unavailable(exc)
    if unavailable is not None:
        # Say so, and when to try again, instead of a bare 500.
        logger.warning("database unavailable: %s", exc)
        return Response(
            error_body("service_unavailable", unavailable.message),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(unavailable.retry_after)},
        )
    if isinstance(exc, ApplicationError):
        fields = {name: [str(m) for m in messages] for name, messages in exc.fields.items()}
        return Response(
            error_body(exc.code, exc.message, fields, exc.extra), status=STATUS_BY_KIND[exc.kind]
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        name, messages = next(iter(fields.items()))
        message = messages[0] if name == "non_field_errors" else f"{name}: {messages[0]}"
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.ParseError):
        # The parser's own detail names internals; say what to send instead.
        response.data = error_body("parse_error", _("The request body is not valid JSON."))
    elif isinstance(exc, exceptions.Throttled):
        # DRF's own message is a fragment ("... Expected available in 2974 seconds.")
        # that its catalogues translate only in part.
        response.data = error_body(exc.default_code, throttled_message(exc))
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        response.data = error_body(code, message)
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an API address that matches no route (/api/v1/rides/abc) answers in the
    API's error shape, like every other API 404; pages keep the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", exceptions.NotFound.default_detail), status=404)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refuses before any view (more form fields or body than
    DATA_UPLOAD_MAX_* allow, a bad host) answers an /api/ client in the API's error shape
    instead of the HTML page; pages keep the HTML page."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent | RequestDataTooBig):
        message = _("The request is too large or has too many fields. Send fewer at a time.")
    else:
        message = _("The request could not be read.")
    return JsonResponse(error_body("bad_request", message), status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Django calls it while it handles the exception, so sys.exc_info()
    names it: a database that is out of reach (or a deadlock) answers 503 with when to
    try again, on pages as in the API; anything else 500. /api/ addresses answer in the
    API's error shape, pages with a page. The pages are rendered without the request's
    context, which might need the database."""
    unavailable = database_unavailable(sys.exc_info()[1])
    api = request.path.startswith("/api/")
    if unavailable is None:
        if api:
            message = _("Samby could not finish this. The error has been logged; try again later.")
            return JsonResponse(error_body("server_error", message), status=500)
        return HttpResponse(loader.get_template("500.html").render(), status=500)
    if api:
        response = JsonResponse(error_body("service_unavailable", unavailable.message), status=503)
    else:
        page = loader.get_template("503.html").render(
            {"message": unavailable.message, "again": request.get_full_path()}
        )
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(unavailable.retry_after)
    return response

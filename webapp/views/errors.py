"""The page a person sees when a form is refused by the CSRF check (CSRF_FAILURE_VIEW).
The other error pages are Django's handlers with our templates (404.html, 403.html,
400.html) and backend/urls.py's handler500 (500.html, 503.html)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 with what to do: open the page again (the one the form was on, when the
    browser said which) and send the form once more. Django's own page speaks of
    tokens and cookies, in English."""
    page = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(
        page, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return render(request, "403_csrf.html", {"again": page if safe else ""}, status=403)

"""Starting a signed-in session on this device: after signing in, and after joining."""

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from backend.accounts.models import User

BACKEND = "backend.accounts.auth.PhoneOrEmailBackend"


def session_start(request: HttpRequest, user: User, *, to: str) -> HttpResponse:
    """Sign `user` in on this device and send them to `to`."""
    login(request, user, backend=BACKEND)
    response = redirect(to)
    # The pages speak the person's language from now on, on this device too.
    remember_language(response, user.preferred_language)
    return response


def remember_language(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )

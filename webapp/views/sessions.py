"""Starting a signed-in session on this device: after signing in, and after joining."""

import time

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from backend.accounts.code_sign_in import CODE_SIGN_IN_GRACE_S
from backend.accounts.models import User

BACKEND = "backend.accounts.auth.PhoneOrEmailBackend"


# A session signed in with a one-time code may choose a new password without the old one
# (its owner may have forgotten it) for CODE_SIGN_IN_GRACE_S, as an API token may.
CODE_SIGN_IN_KEY = "signed_in_by_code_at"


def session_start(
    request: HttpRequest, user: User, *, to: str, by_code: bool = False
) -> HttpResponse:
    """Sign `user` in on this device and send them to `to`; `by_code` when they showed
    who they are with a one-time code instead of their password."""
    login(request, user, backend=BACKEND)
    if by_code:
        request.session[CODE_SIGN_IN_KEY] = time.time()
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


def signed_in_by_code_lately(request: HttpRequest) -> bool:
    """Whether this session began with a one-time code within CODE_SIGN_IN_GRACE_S."""
    started = request.session.get(CODE_SIGN_IN_KEY)
    return isinstance(started, float) and time.time() - started < CODE_SIGN_IN_GRACE_S

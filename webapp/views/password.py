"""Choosing a new password on the web pages: with the present one, or without it right
after signing in with a one-time code (for someone who forgot it)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.accounts.login_limits import login_attempt_count
from backend.accounts.services import user_change_password
from backend.errors import ApplicationError
from webapp.forms.auth import PasswordChangeForm
from webapp.views.common import client_ip, page, show_error
from webapp.views.sessions import CODE_SIGN_IN_KEY, signed_in_by_code_lately


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_managed:  # pragma: no cover - a managed profile cannot sign in
        return redirect("webapp:profile")
    needs_current = not signed_in_by_code_lately(request)
    form = PasswordChangeForm(
        request.POST if request.method == "POST" else None, needs_current=needs_current
    )
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            if needs_current:
                # Trying the present password is a sign-in attempt of this person: a
                # session left open cannot guess it faster than the sign-in page.
                login_attempt_count(
                    identifier=user.phone or user.email, client_ip=client_ip(request)
                )
            user_change_password(
                user=user,
                new_password=values["new_password"],
                current_password=values["current_password"] if needs_current else None,
            )
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            # This device stays signed in; the others (pages and app) must sign in anew.
            update_session_auth_hash(request, user)
            request.session.pop(CODE_SIGN_IN_KEY, None)
            messages.success(
                request,
                _("Your new password works from now on. Other devices must sign in again."),
            )
            return redirect("webapp:profile")
    return page(
        request,
        "webapp/auth/password_change.html",
        {"form": form, "needs_current": needs_current},
        status=400 if form.errors else 200,
    )

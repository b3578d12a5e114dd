"""Signing in (password, or a code by SMS), signing out, and the language switch."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from backend.accounts.email_sign_in import sign_in_link_send, sign_in_link_user
from backend.accounts.login_codes import login_code_send, login_code_verify
from backend.accounts.login_limits import login_attempt_count
from backend.accounts.models import User
from backend.accounts.services import user_update_profile
from backend.errors import ApplicationError
from webapp.forms.auth import (
    CodeRequestForm,
    CodeVerifyForm,
    EmailSignInForm,
    PasswordSignInForm,
)
from webapp.forms.profile import LanguageForm
from webapp.views.common import client_ip, page, show_error
from webapp.views.sessions import remember_language, session_start


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _signed_in(request: HttpRequest, user: User, *, by_code: bool = False) -> HttpResponse:
    return session_start(
        request, user, to=_safe_next(request, reverse("webapp:home")), by_code=by_code
    )


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("webapp:home")
    form = PasswordSignInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            login_attempt_count(
                identifier=form.cleaned_data["identifier"], client_ip=client_ip(request)
            )
        except ApplicationError as error:
            show_error(request, error, form)
            return _sign_in_page(request, form)
        user = authenticate(
            request,
            username=form.cleaned_data["identifier"],
            password=form.cleaned_data["password"],
        )
        if user is not None:
            return _signed_in(request, user)
        form.add_error(
            None,
            _(
                "The phone number or e-mail and the password do not match. Try again, or "
                "sign in with a code by SMS."
            ),
        )
    return _sign_in_page(request, form)


def _sign_in_page(request: HttpRequest, form: PasswordSignInForm) -> HttpResponse:
    return page(
        request,
        "webapp/auth/sign_in.html",
        {"form": form, "code_form": CodeRequestForm(), "next": _safe_next(request, "")},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def code_request(request: HttpRequest) -> HttpResponse:
    form = CodeRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            login_code_send(phone=form.cleaned_data["phone"], client_ip=client_ip(request))
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            # The phone travels in the session, not the URL: it is personal data.
            request.session["sign_in_phone"] = form.cleaned_data["phone"]
            next_url = _safe_next(request, "")
            query = f"?{urlencode({'next': next_url})}" if next_url else ""
            return redirect(reverse("webapp:sign-in-code-verify") + query)
    return page(
        request,
        "webapp/auth/code_request.html",
        {"form": form, "next": _safe_next(request, "")},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def code_verify(request: HttpRequest) -> HttpResponse:
    phone = request.session.get("sign_in_phone", "")
    if not phone:
        return redirect("webapp:sign-in-code")
    form = CodeVerifyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            login_attempt_count(identifier=phone, client_ip=client_ip(request))
            user = login_code_verify(phone=phone, code=form.cleaned_data["code"])
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            request.session.pop("sign_in_phone", None)
            return _signed_in(request, user, by_code=True)
    return page(
        request,
        "webapp/auth/code_verify.html",
        {"form": form, "next": _safe_next(request, "")},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def email_link_request(request: HttpRequest) -> HttpResponse:
    """Asking for a sign-in link by e-mail: for someone without a phone for a code."""
    form = EmailSignInForm(request.POST if request.method == "POST" else None)
    sent_to = ""
    if request.method == "POST" and form.is_valid():
        try:
            sign_in_link_send(email=form.cleaned_data["email"], client_ip=client_ip(request))
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            sent_to = form.cleaned_data["email"]
    return page(
        request,
        "webapp/auth/email_link_request.html",
        {"form": form, "sent_to": sent_to},
        status=400 if form.errors else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def email_link_sign_in(request: HttpRequest, uid: str, token: str) -> HttpResponse:
    """The sign-in link's page: a button signs in (mail scanners open links, and opening
    must not spend the link), then on to choosing a new password."""
    try:
        user = sign_in_link_user(uid=uid, token=token)
    except ApplicationError as error:
        return page(
            request, "webapp/auth/email_link_sign_in.html", {"error": error.message}, status=400
        )
    if request.method == "GET":
        return page(request, "webapp/auth/email_link_sign_in.html", {"email": user.email})
    response = session_start(request, user, to=reverse("webapp:password-change"), by_code=True)
    messages.success(
        request,
        _("You are signed in. Choose a new password now, or go on to the start page."),
    )
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("webapp:sign-in")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switch in the header: for this device (a cookie) and, when signed
    in, for the person (their notifications and SMS follow it)."""
    form = LanguageForm(request.POST)
    fallback = reverse("webapp:home")
    if not form.is_valid():
        return HttpResponseRedirect(fallback)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated and request.user.preferred_language != language:
        user_update_profile(user=request.user, changes={"preferred_language": language})
    translation.activate(language)
    response = HttpResponseRedirect(_safe_next(request, fallback))
    remember_language(response, language)
    return response

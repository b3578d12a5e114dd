"""Joining Samby on the web: creating an account, and showing that one's phone number is
one's own with a code texted to it (requests to help sent to the number wait for that)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from backend.accounts.contact_confirmations import contact_confirmations_send
from backend.accounts.login_codes import phone_confirm, phone_confirmation_send
from backend.accounts.login_limits import login_attempt_count
from backend.accounts.models import Language, User
from backend.accounts.services import user_register
from backend.errors import ApplicationError
from webapp.forms.auth import CodeVerifyForm
from webapp.forms.join import JoinForm
from webapp.views.common import client_ip, page, show_error
from webapp.views.email_confirmation import contact_confirmations_show
from webapp.views.sessions import session_start


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("webapp:home")
    language = translation.get_language()
    form = JoinForm(
        request.POST if request.method == "POST" else None,
        initial={"preferred_language": language if language in Language.values else None},
    )
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            # Joining tries a phone number or e-mail with a password, like signing in:
            # the same counts keep anyone from probing which numbers have an account.
            login_attempt_count(
                identifier=values["phone"] or values["email"], client_ip=client_ip(request)
            )
            user = user_register(
                full_name=values["full_name"],
                phone=values["phone"],
                email=values["email"],
                password=values["password"],
                preferred_language=values["preferred_language"],
            )
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            return _welcome(request, user)
    return page(
        request, "webapp/auth/join.html", {"form": form}, status=400 if form.errors else 200
    )


def _welcome(request: HttpRequest, user: User) -> HttpResponse:
    """Sign the new person in; with a phone number, text them a code to confirm it, and
    with an e-mail address, e-mail them a link to confirm that."""
    # The account exists all the same when either fails: the confirm page offers a new
    # code, the profile a new link.
    sent = contact_confirmations_send(
        user=user, phone_is_new=True, email_is_new=True, client_ip=client_ip(request)
    )
    to = "webapp:phone-confirm" if sent.phone_to_confirm else "webapp:home"
    response = session_start(request, user, to=reverse(to))
    messages.success(request, _("Welcome to Samby! Your account is ready."))
    contact_confirmations_show(request, sent)
    return response


def _nothing_to_confirm(request: HttpRequest) -> HttpResponse | None:
    """Back to the profile, with a word why, when the person has no number to confirm."""
    user = request.user
    if not user.phone:
        messages.info(request, _("There is no phone number in your account to confirm."))
        return redirect("webapp:profile")
    if user.phone_confirmed_at is not None:
        messages.info(request, _("Your phone number is confirmed already."))
        return redirect("webapp:profile")
    return None


@login_required
@require_http_methods(["GET", "POST"])
def phone_confirm_page(request: HttpRequest) -> HttpResponse:
    if (elsewhere := _nothing_to_confirm(request)) is not None:
        return elsewhere
    form = CodeVerifyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            phone_confirm(user=request.user, code=form.cleaned_data["code"])
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("Your phone number is confirmed."))
            return redirect("webapp:profile")
    return page(
        request,
        "webapp/auth/phone_confirm.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def phone_code(request: HttpRequest) -> HttpResponse:
    """Text a new code to the person's number; the one sent before stops working."""
    if (elsewhere := _nothing_to_confirm(request)) is not None:
        return elsewhere
    try:
        phone_confirmation_send(user=request.user, client_ip=client_ip(request))
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(request, _("A new code is on its way to your phone."))
    return redirect("webapp:phone-confirm")

"""Showing that one's e-mail address is one's own: a link e-mailed to it is opened, and
its page's button pressed. Until then nothing else is e-mailed to the address.

Opening the link only shows the page: mail scanners open links in e-mail, so only the
button (a POST) confirms. The page needs no sign-in, since whoever reads the mailbox is
who it asks about, and it signs nobody in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from backend.accounts.contact_confirmations import ContactConfirmations
from backend.accounts.email_confirmation import (
    EmailLinkErrorCode,
    email_confirm,
    email_confirmation_send,
    email_link_read,
)
from backend.errors import ApplicationError
from webapp.views.common import page, show_error


def email_link_send(request: HttpRequest) -> None:
    """E-mail the signed-in person a link that confirms their address, and say on the
    next page that it went, or why it did not (the profile offers a new one)."""
    user = request.user
    try:
        email_confirmation_send(user=user)
    except ApplicationError as error:
        _link_failure_show(request, error)
    else:
        _link_sent_show(request, user.email)


def contact_confirmations_show(request: HttpRequest, sent: ContactConfirmations) -> None:
    """Say on the next page what `contact_confirmations_send` did for a new number and
    address: that the link went, or why the code or link did not (the phone confirm page
    offers a new code, the profile a new link). A code that went needs no word: the
    page asking for it follows."""
    if sent.code_error is not None:
        show_error(request, sent.code_error)
    if sent.link_error is not None:
        _link_failure_show(request, sent.link_error)
    elif sent.link_emailed_to:
        _link_sent_show(request, sent.link_emailed_to)


def _link_sent_show(request: HttpRequest, email: str) -> None:
    messages.success(
        request,
        _("We e-mailed a link to %(email)s. Open it to confirm that the address is yours.")
        % {"email": email},
    )


def _link_failure_show(request: HttpRequest, error: ApplicationError) -> None:
    if error.code == EmailLinkErrorCode.ALREADY_CONFIRMED:
        messages.info(request, error.message)  # nothing went wrong: nothing to do
    else:
        show_error(request, error)


@never_cache
@require_http_methods(["GET", "POST"])
def email_confirm_page(request: HttpRequest, token: str) -> HttpResponse:
    """The page of the link: the address and a button that confirms it; once confirmed,
    that it is, and the way on."""
    try:
        person = email_confirm(token=token) if request.method == "POST" else email_link_read(token)
    except ApplicationError as error:
        return page(request, "webapp/auth/email_confirm.html", {"error": error.message}, status=400)
    if request.method == "POST":
        # The same page again, now saying the address is confirmed (reloading it sends
        # nothing twice).
        return redirect("webapp:email-confirm", token=token)
    return page(
        request,
        "webapp/auth/email_confirm.html",
        {"email": person.email, "confirmed": person.email_confirmed_at is not None},
    )


@login_required
@require_POST
def email_link(request: HttpRequest) -> HttpResponse:
    """E-mail a new link to the person's address; links sent before work as well."""
    email_link_send(request)
    return redirect("webapp:profile")

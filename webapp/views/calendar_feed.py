"""The profile's "Samby in your phone's calendar": the person's secret calendar address
(`backend.sharing.calendar_feed` says what it carries). Reading the profile only shows an
address already made; making one, or a new one, is a POST."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.models import User
from backend.sharing.selectors import person_feed_of
from backend.sharing.services import feed_rotate, person_feed_get_or_create

SECTION = "#calendar"


def calendar_addresses(request: HttpRequest, user: User) -> dict | None:
    """The https address of `user`'s feed and the same as webcal:// (which a phone opens
    in its calendar app to subscribe), or None while they have not asked for one."""
    feed = person_feed_of(user=user)
    if feed is None:
        return None
    url = request.build_absolute_uri(reverse("sharing-ical", kwargs={"token": feed.token}))
    return {"url": url, "webcal": "webcal://" + url.split("://", 1)[1]}


@login_required
@require_POST
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Make my calendar address (once; later the same one) and show it on the profile."""
    person_feed_get_or_create(user=request.user)
    return redirect(reverse("webapp:profile") + SECTION)


@login_required
@require_POST
def calendar_feed_rotate(request: HttpRequest) -> HttpResponse:
    """A new secret address; the old one stops working at once."""
    feed_rotate(feed=person_feed_get_or_create(user=request.user))
    messages.success(
        request,
        _(
            "Your calendar has a new address, and the old one no longer works. Add the new"
            " one to your calendar."
        ),
    )
    return redirect(reverse("webapp:profile") + SECTION)

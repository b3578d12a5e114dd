"""What every page needs: the shell's context, and turning service errors into form
errors a person can act on."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.errors import ApplicationError
from backend.notifications.models import Notification
from backend.notifications.selectors import unread_count
from backend.rides.selectors import driver_profiles_of


def shell(request: HttpRequest) -> dict:
    """The header's badge, the websocket's starting point and the driver-mode link."""
    user = request.user
    if not user.is_authenticated:
        return {"signed_in": False}
    last_id = (
        Notification.objects.filter(recipient=user).order_by("-id").values_list("id", flat=True)
    ).first()
    return {
        "signed_in": True,
        "unread": unread_count(user=user),
        "last_notification_id": last_id or 0,
        "is_driver": driver_profiles_of(user=user).exists(),
        "position_interval": settings.DRIVER_POSITION_INTERVAL,
    }


def page(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    return render(request, template, {**shell(request), **(context or {})}, status=status)


def show_error(
    request: HttpRequest,
    error: ApplicationError,
    form: forms.Form | None = None,
    *,
    fields: dict[str, str] | None = None,
) -> None:
    """Put the service's message where the person looks: on the fields it names (renamed
    to the form's fields through `fields`), and the message itself at the top of the form
    (or as a page message when there is no form)."""
    if form is None:
        messages.error(request, error.message)
        return
    for name, field_messages in error.fields.items():
        target = (fields or {}).get(name, name)
        if target not in form.fields:
            continue
        for message in field_messages:
            form.add_error(target, message)
    form.add_error(None, error.message)


def client_ip(request: HttpRequest) -> str:
    """The client's address for rate limits. Behind NUM_PROXIES reverse proxies, the
    address the nearest trusted proxy saw; otherwise the socket's peer."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")

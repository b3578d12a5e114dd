"""What every page needs: the shell's context, and turning service errors into form
errors a person can act on."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Exists
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.accounts.models import User
from backend.community.models import MunicipalityAnalyst
from backend.community.selectors import coordinated_association_ids
from backend.errors import ApplicationError
from backend.notifications.models import Notification
from backend.notifications.selectors import unread_count
from backend.rate_limits import client_address
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
        **_modes(user),
        "position_interval": settings.DRIVER_POSITION_INTERVAL,
    }


def _modes(user) -> dict[str, bool]:
    """Whether to link driver mode, the association console and the statistics: one query."""
    modes = (
        User.objects.filter(pk=user.pk)
        .annotate(
            is_driver=Exists(driver_profiles_of(user=user)),
            is_coordinator=Exists(coordinated_association_ids(user=user)),
            is_analyst=Exists(MunicipalityAnalyst.objects.filter(user=user)),
        )
        .values("is_driver", "is_coordinator", "is_analyst")
        .first()
    )
    return modes or {"is_driver": False, "is_coordinator": False, "is_analyst": False}


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
    """The client's address for rate limits (the API's rule: backend.rate_limits)."""
    return client_address(request.META)

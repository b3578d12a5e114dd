"""What every page needs: the shell's context, and turning service errors into form
errors a person can act on."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.accounts.models import User
from backend.community.models import MunicipalityAnalyst
from backend.community.selectors import coordinated_association_ids
from backend.errors import ApplicationError
from backend.notifications.models import Notification
from backend.rate_limits import client_address
from backend.rides.selectors import driver_profiles_of


def shell(request: HttpRequest) -> dict:
    """The header's badge, the websocket's starting point and the links to driver mode,
    the association console and the statistics: one query, since every page needs it."""
    user = request.user
    if not user.is_authenticated:
        return {"signed_in": False}
    mine = Notification.objects.filter(recipient=OuterRef("pk"))
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            unread=Coalesce(
                Subquery(
                    mine.filter(read_at__isnull=True)
                    .order_by()
                    .values("recipient")
                    .annotate(n=Count("pk"))
                    .values("n")
                ),
                0,
            ),
            last_notification_id=Coalesce(Subquery(mine.order_by("-id").values("id")[:1]), 0),
            is_driver=Exists(driver_profiles_of(user=user)),
            is_coordinator=Exists(coordinated_association_ids(user=user)),
            is_analyst=Exists(MunicipalityAnalyst.objects.filter(user=user)),
        )
        .values("unread", "last_notification_id", "is_driver", "is_coordinator", "is_analyst")
        .first()
    ) or {
        "unread": 0,
        "last_notification_id": 0,
        "is_driver": False,
        "is_coordinator": False,
        "is_analyst": False,
    }
    return {
        "signed_in": True,
        **row,
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
    """The client's address for rate limits (the API's rule: backend.rate_limits)."""
    return client_address(request.META)

"""What every page needs: the shell's context, and turning service errors into form
errors a person can act on."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.community.models import MembershipState, Role
from backend.community.selectors import people_names_actable_by
from backend.db import fetch_dicts
from backend.errors import ApplicationError
from backend.notifications.selectors import REPLAY_LIMIT
from backend.rate_limits import client_address

# The shell's row, asked on every page. Each flag repeats the rule of the selector named
# beside it (driver_memberships_of: driver mode, or its first setup for a driver without a
# profile yet; coordinated_association_ids; the known ids are what
# notifications_since from the newest id brings again, which the page already shows);
# the ORM built the same statement from five annotations for more CPU than running it took.
_SHELL = """
    SELECT
      (SELECT count(*) FROM notifications_notification AS n
        WHERE n.recipient_id = %(user)s AND n.read_at IS NULL) AS unread,
      COALESCE((SELECT max(n.id) FROM notifications_notification AS n
                 WHERE n.recipient_id = %(user)s), 0) AS last_notification_id,
      ARRAY(SELECT n.id FROM notifications_notification AS n  -- notifications_since's overlap
             WHERE n.recipient_id = %(user)s
               AND n.created_at >= (SELECT l.created_at FROM notifications_notification AS l
                                     WHERE l.recipient_id = %(user)s ORDER BY l.id DESC LIMIT 1)
                                   - %(replay_overlap)s::interval
             ORDER BY n.created_at DESC LIMIT %(replay_limit)s) AS known_notification_ids,
      EXISTS (SELECT 1 FROM community_membership AS m  -- driver_memberships_of
               WHERE m.user_id = %(user)s AND m.state = %(active)s
                 AND m.roles @> %(driver)s) AS is_driver,
      EXISTS (SELECT 1 FROM community_membership AS m  -- coordinated_association_ids
               WHERE m.user_id = %(user)s AND m.state = %(active)s
                 AND m.roles @> %(coordinator)s) AS is_coordinator,
      EXISTS (SELECT 1 FROM community_municipalityanalyst AS a
               WHERE a.user_id = %(user)s) AS is_analyst
"""


def shell(request: HttpRequest) -> dict:
    """The header's badge, the websocket's starting point (the newest notification, and
    the ids its replay brings again, which the page already shows) and the links to
    driver mode, the association console and the statistics: one query, since every page
    needs it."""
    user = request.user
    if not user.is_authenticated:
        return {"signed_in": False}
    [row] = fetch_dicts(
        _SHELL,
        {
            "user": user.pk,
            "active": MembershipState.ACTIVE,
            "driver": [Role.DRIVER.value],
            "coordinator": [Role.COORDINATOR.value],
            "replay_overlap": timedelta(seconds=settings.NOTIFY_REPLAY_OVERLAP),
            "replay_limit": REPLAY_LIMIT,
        },
    )
    return {
        "signed_in": True,
        **row,
        "position_interval": settings.DRIVER_POSITION_INTERVAL,
    }


def page(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    return render(request, template, {**shell(request), **(context or {})}, status=status)


def people_to_book_for(user: User, *, active_members_only: bool = False) -> list[tuple[int, str]]:
    """A booking form's choice of whom it is for: `user` ("Me") first, then the people
    they book for, by name (`people_names_actable_by`)."""
    return me_first(
        user, people_names_actable_by(actor=user, active_members_only=active_members_only)
    )


def me_first(user: User, people: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A booking form's choice of whom it is for: "Me (name)" first, then the others
    (`people` as `people_names_actable_by` gives them, by name)."""
    mine = [(pk, _("Me (%(name)s)") % {"name": name}) for pk, name in people if pk == user.pk]
    return mine + [(pk, name) for pk, name in people if pk != user.pk]


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

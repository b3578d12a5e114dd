"""Messages to every member ("the shop run is cancelled today because of the snow"):
writing one, and what became of the latest ones."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from backend.community.selectors import (
    MessageReach,
    association_message_reach,
    association_messages_for,
)
from backend.community.services import association_message_given_up, association_message_send
from backend.errors import ApplicationError
from backend.notifications.models import Channel, DeliveryStatus
from webapp.forms.console import MemberMessageForm
from webapp.views.common import show_error
from webapp.views.console.common import console_page, coordinator_required

PAGE_SIZE = 20
# Names of members a message could not be sent to, shown under it; beyond these, a count.
FAILED_SHOWN = 30
STATUS_COUNTS = {
    DeliveryStatus.SENT: _("%(count)s sent"),
    DeliveryStatus.FAILED: _("%(count)s failed"),
    DeliveryStatus.PENDING: _("%(count)s waiting"),
    # No number, address or push subscription, not confirmed yet, or the daily SMS limit.
    DeliveryStatus.SKIPPED: _("%(count)s not sent"),
}


@coordinator_required
@require_http_methods(["GET", "POST"])
def member_messages(request):
    association = request.association
    form = MemberMessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            message = association_message_send(
                actor=request.user,
                association=association,
                text=form.cleaned_data["text"],
                urgent=form.cleaned_data["urgent"],
            )
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            count = message.recipients
            messages.success(
                request,
                ngettext(
                    "Sent to %(count)s member, by the way each has chosen.",
                    "Sent to %(count)s members, by the way each has chosen.",
                    count,
                )
                % {"count": count},
            )
            url = reverse("webapp:console-messages")
            return redirect(f"{url}?association={association.pk}")
    now = timezone.now()
    page_obj = Paginator(
        association_messages_for(viewer=request.user, association=association), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    reach = association_message_reach(
        message_ids=[message.pk for message in page_obj if message.delivered_at]
    )
    sent = [
        {
            "message": message,
            "given_up": association_message_given_up(message, now=now),
            "reach": _reach_lines(reach.get(message.pk)),
        }
        for message in page_obj
    ]
    return console_page(
        request,
        "webapp/console/messages.html",
        {"form": form, "sent": sent, "page_obj": page_obj},
        status=400 if form.errors else 200,
    )


def _reach_lines(reach: MessageReach | None) -> dict | None:
    """The reach as the page says it: one line per channel ("SMS: 30 sent, 2 failed"),
    and the first FAILED_SHOWN names it could not be sent to."""
    if reach is None:
        return None
    channels = []
    for channel in (Channel.SMS, Channel.EMAIL, Channel.PUSH):
        counts = reach.by_channel.get(channel)
        if counts:
            parts = [
                text % {"count": counts[status]}
                for status, text in STATUS_COUNTS.items()
                if counts.get(status)
            ]
            channels.append(f"{channel.label}: {', '.join(parts)}")
    names = [f"{name} ({Channel(channel).label})" for name, channel in reach.failed]
    return {
        "read": reach.read,
        "channels": channels,
        "failed": names[:FAILED_SHOWN],
        "failed_more": max(len(names) - FAILED_SHOWN, 0),
    }

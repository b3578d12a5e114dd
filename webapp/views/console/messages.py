"""Messages to every member ("the shop run is cancelled today because of the snow"):
writing one, and what became of the latest ones."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from backend.community.selectors import association_messages_for
from backend.community.services import association_message_given_up, association_message_send
from backend.errors import ApplicationError
from webapp.forms.console import MemberMessageForm
from webapp.views.common import show_error
from webapp.views.console.common import console_page, coordinator_required


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
    sent = [
        (message, association_message_given_up(message, now=now))
        for message in association_messages_for(viewer=request.user, association=association)
    ]
    return console_page(
        request,
        "webapp/console/messages.html",
        {"form": form, "sent": sent},
        status=400 if form.errors else 200,
    )

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.errors import ApplicationError
from backend.notifications.models import Channel
from backend.notifications.selectors import inbox, notification_message, preferences_for
from backend.notifications.services import notifications_mark_read, preferences_set
from webapp.notification_links import notification_link
from webapp.views.common import page, show_error
from webapp.views.console.common import row_url

PAGE_SIZE = 20


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    paginator = Paginator(inbox(user=user), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    open_url = row_url("webapp:notification-open")
    return page(
        request,
        "webapp/notifications/list.html",
        {
            "page_obj": page_obj,
            "items": [
                notification_message(n, language=user.preferred_language)
                | {"created": n.created_at, "open": open_url(n.pk)}
                for n in page_obj
            ],
        },
    )


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (`id`) or everything shown so far (`up_to`) as read."""
    one, up_to = request.POST.get("id", ""), request.POST.get("up_to", "")
    # ASCII digits only: "¹".isdigit() is true too, and int() refuses it.
    if one.isascii() and one.isdigit():
        notifications_mark_read(user=request.user, ids=[int(one)])
    elif up_to.isascii() and up_to.isdigit():
        notifications_mark_read(user=request.user, up_to_id=int(up_to))
    return redirect("webapp:notifications")


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open one of my messages (its link in a push, an e-mail or a list): it is read now,
    and the page where I act on it opens; the messages page when there is none. Someone
    else's message is a 404, as is one that does not exist."""
    notification = get_object_or_404(inbox(user=request.user), pk=pk)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    link = notification_link(notification.kind, notification.payload, recipient=request.user)
    return redirect(link or reverse("webapp:notifications") + f"#message-{notification.pk}")


# The kinds' codes start with the service they belong to; the page groups them so.
GROUPS = [
    ("ride", gettext_lazy("Volunteer rides")),
    ("carpool", gettext_lazy("Carpooling")),
    ("shuttle", gettext_lazy("Shop runs")),
    ("sharing", gettext_lazy("Shared cars, tools and rooms")),
    ("", gettext_lazy("Your association")),
]
# Always on in the app (selectors.chosen_channels): only these are a choice.
CHOOSABLE = [Channel.PUSH, Channel.SMS, Channel.EMAIL]


def _groups(kinds: list[dict]) -> list[dict]:
    groups = [{"label": label, "prefix": prefix, "kinds": []} for prefix, label in GROUPS]
    for kind in kinds:
        service = kind["kind"].split(".")[0]
        group = next((g for g in groups if g["prefix"] == service), groups[-1])
        group["kinds"].append(
            kind
            | {
                "choices": [
                    {"value": c.value, "label": c.label, "on": c.value in kind["channels"]}
                    for c in CHOOSABLE
                    if c.value in kind["allowed_channels"]
                ]
            }
        )
    return [g for g in groups if g["kinds"]]


@login_required
@require_http_methods(["GET", "POST"])
def notification_choices(request: HttpRequest) -> HttpResponse:
    """How each kind of message reaches me besides the app: push, SMS, e-mail. Only the
    kinds whose choice changed are saved, so the others keep following the general
    choices on the profile page."""
    current = preferences_for(user=request.user)
    if request.method == "POST":
        shown = {k["kind"]: set(k["channels"]) for k in current["kinds"]}
        changed = {}
        for kind in request.POST.getlist("kinds"):
            chosen = set(request.POST.getlist(f"channels-{kind}"))
            before = shown.get(kind, set()) - {Channel.LIVE.value}
            if kind not in shown or chosen != before:
                changed[kind] = sorted(chosen | {Channel.LIVE.value})
        try:
            preferences_set(user=request.user, channels_by_kind=changed)
        except ApplicationError as error:
            show_error(request, error)
            return page(
                request,
                "webapp/notifications/choices.html",
                {"groups": _groups(current["kinds"])},
                status=400,
            )
        messages.success(request, _("Your choices are saved."))
        return redirect("webapp:notification-choices")
    return page(request, "webapp/notifications/choices.html", {"groups": _groups(current["kinds"])})

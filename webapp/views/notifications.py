from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from backend.notifications.selectors import inbox, notification_message
from backend.notifications.services import notifications_mark_read
from webapp.views.common import page

PAGE_SIZE = 20


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    paginator = Paginator(inbox(user=user), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    return page(
        request,
        "webapp/notifications/list.html",
        {
            "page_obj": page_obj,
            "items": [
                notification_message(n, language=user.preferred_language)
                | {"created": n.created_at}
                for n in page_obj
            ],
        },
    )


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (`id`) or everything shown so far (`up_to`) as read."""
    one, up_to = request.POST.get("id", ""), request.POST.get("up_to", "")
    if one.isdigit():
        notifications_mark_read(user=request.user, ids=[int(one)])
    elif up_to.isdigit():
        notifications_mark_read(user=request.user, up_to_id=int(up_to))
    return redirect("webapp:notifications")

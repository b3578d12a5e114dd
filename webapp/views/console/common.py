"""Who may open the console, and for which association."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.safestring import SafeString

from backend.community.models import Association
from backend.community.selectors import coordinated_association_ids
from webapp.views.common import page


def coordinated_associations(request: HttpRequest):
    return Association.objects.filter(
        pk__in=coordinated_association_ids(user=request.user)
    ).order_by("name")


def coordinator_required(view):
    """Only for an active coordinator; `request.association` is the association the
    console shows (`?association=` picks one when they coordinate several; any other
    id is treated as absent). Everyone else gets a 403 page that says why."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        mine = list(coordinated_associations(request))
        if not mine:
            return page(request, "webapp/console/not_coordinator.html", status=403)
        chosen = request.POST.get("association") or request.GET.get("association") or ""
        association = next((a for a in mine if str(a.pk) == chosen), mine[0])
        request.association = association
        request.console_associations = mine
        return view(request, *args, **kwargs)

    return wrapper


def console_page(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    return page(
        request,
        template,
        {
            "association": request.association,
            "associations": request.console_associations,
            **(context or {}),
        },
        status=status,
    )


# Stands for the row's id in the one URL reversed for a whole list.
_ROW_ID = 2_147_483_647


def row_url(name: str, *args: str, query: str = "") -> Callable[[int], str]:
    """`reverse(name, args=[pk, *args]) + query` for every row of a long list, reversing
    once: `{% url %}` per row was a tenth of a console page's time."""
    prefix, _, suffix = reverse(name, args=[_ROW_ID, *args]).partition(str(_ROW_ID))
    suffix += query
    return lambda pk: f"{prefix}{pk}{suffix}"


# What `html.escape` (and so Django's `escape`) replaces, for one `str.translate` call
# instead of five `str.replace` calls per value.
_HTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
)


def html_row(template: str, **values) -> SafeString:
    """One row of a long table: `template` (a str.format string) filled with the values
    escaped as `format_html` escapes them, without its checks for lazy text per value.
    The console's long tables (the board's rides, the roster's members) write their rows
    this way, as the admin's change list does: a dozen template variables per row were
    the largest part of those pages' time."""
    for key, value in values.items():
        if not hasattr(value, "__html__"):
            values[key] = str(value).translate(_HTML_ESCAPES)
    return SafeString(template.format_map(values))

"""How a moment reads on the pages: "today 14:05", "yesterday 09:10", "3 December 14:05"
(in Swedish "i dag 14:05", "i går 09:10", "3 december 14:05"), in the local time zone,
inside a `<time>` element whose `datetime` is the exact moment for machines."""

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


def when_words(moment: dt.datetime, *, today: dt.date | None = None) -> str:
    """`moment` in words a person reads at a glance: the day as today, yesterday or
    tomorrow when it is one of those, else the date (with the year when it is not this
    year's), then the time."""
    local = timezone.localtime(moment)
    today = today or timezone.localdate()
    clock = time_format(local, "H:i")
    days = (local.date() - today).days
    if days == 0:
        return _("today %(time)s") % {"time": clock}
    if days == -1:
        return _("yesterday %(time)s") % {"time": clock}
    if days == 1:
        return _("tomorrow %(time)s") % {"time": clock}
    day = date_format(local, "j F" if local.year == today.year else "j F Y")
    return f"{day} {clock}"


@register.filter
def when(moment: dt.datetime | None) -> SafeString | str:
    """`{{ n.created|when }}`: `<time datetime="2024-12-03T14:05:00+01:00">today
    14:05</time>`; nothing for no moment."""
    if not moment:
        return ""
    exact = timezone.localtime(moment).replace(microsecond=0).isoformat()
    return format_html('<time datetime="{}">{}</time>', exact, when_words(moment))

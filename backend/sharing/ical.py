"""iCalendar feeds (RFC 5545) that phone calendars subscribe to by a secret address."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from backend.sharing.models import HOLDING, Booking, BookingStatus, CalendarFeed

# What a feed shows: recent history and everything ahead.
HISTORY = timedelta(days=90)
SHOWN = [*HOLDING, BookingStatus.RETURNED]


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Samby//sharing//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    # Phones poll a subscribed calendar; ask for hourly.
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    return calendar


def _uid(booking: Booking) -> str:
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    return f"booking-{booking.pk}@{host}"


def feed_ical(feed: CalendarFeed) -> bytes:
    """A person's bookings (what, when, where to fetch it), or a resource's busy times
    (no names: the address may be shared with anyone who should see when it is taken)."""
    since = timezone.now() - HISTORY
    bookings = Booking.objects.filter(status__in=SHOWN, ends_at__gte=since).select_related(
        "resource"
    )
    if feed.user_id is not None:
        calendar = _calendar(_("Samby bookings"))
        bookings = bookings.filter(booker_id=feed.user_id)
    else:
        calendar = _calendar(feed.resource.title)
        bookings = bookings.filter(resource_id=feed.resource_id).exclude(
            status=BookingStatus.RETURNED
        )
    stamp = timezone.now()
    for booking in bookings.order_by("starts_at", "pk"):
        event = Event()
        event.add("uid", _uid(booking))
        event.add("dtstamp", stamp)
        event.add("dtstart", booking.starts_at)
        event.add("dtend", booking.ends_at)
        if feed.user_id is not None:
            event.add("summary", booking.resource.title)
            resource = booking.resource
            # The exact place only once the booking is confirmed (it may be a home).
            if booking.status != BookingStatus.REQUESTED:
                if resource.pickup_instructions:
                    event.add("location", resource.pickup_instructions)
                event.add("geo", (resource.location.y, resource.location.x))
            event.add("description", booking.get_status_display())
            event.add(
                "status", "TENTATIVE" if booking.status == BookingStatus.REQUESTED else "CONFIRMED"
            )
        else:
            event.add("summary", _("Booked"))
            event.add("transp", "OPAQUE")
            event.add("class", "PRIVATE")
        calendar.add_component(event)
    return calendar.to_ical()

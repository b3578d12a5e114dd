"""iCalendar feeds (RFC 5545) that phone calendars subscribe to by a secret address.

This module writes the calendar and the shared-thing events; a person's feed, which
also carries their rides, carpool seats and shop runs, is put together in
`backend.sharing.calendar_feed`."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vDuration

from backend.sharing.models import HOLDING, Booking, BookingStatus, CalendarFeed

# What a resource's feed shows: recent history and everything ahead.
HISTORY = timedelta(days=90)
SHOWN = [*HOLDING, BookingStatus.RETURNED]


def calendar_new(name: str) -> Calendar:
    """An empty calendar named `name`, asking phones to look for changes hourly."""
    calendar = Calendar()
    calendar.add("prodid", "-//Samby//sharing//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    # Phones poll a subscribed calendar; ask for hourly (RFC 7986, and the older name
    # Outlook and Google read). A bare timedelta would be written as "1:00:00", which
    # no calendar understands: vDuration writes PT1H.
    hour = timedelta(hours=1)
    calendar.add("refresh-interval", vDuration(hour), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(hour))
    return calendar


def event_uid(kind: str, pk: int) -> str:
    """A UID that stays the same while the thing exists, so that a phone replaces the
    event when it changes (and removes it when it leaves the feed)."""
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    return f"{kind}-{pk}@{host}"


def booking_event(booking: Booking) -> Event:
    """The booker's event of a shared-thing booking (what, when, where to fetch it);
    the caller stamps it."""
    event = Event()
    event.add("uid", event_uid("booking", booking.pk))
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", booking.resource.title)
    resource = booking.resource
    # The exact place only once the booking is confirmed (it may be a home).
    if booking.status != BookingStatus.REQUESTED:
        if resource.pickup_instructions:
            event.add("location", resource.pickup_instructions)
        event.add("geo", (resource.location.y, resource.location.x))
    event.add("description", booking.get_status_display())
    event.add("status", "TENTATIVE" if booking.status == BookingStatus.REQUESTED else "CONFIRMED")
    return event


def resource_feed_ical(feed: CalendarFeed) -> bytes:
    """A resource's busy times (no names: the address may be shared with anyone who
    should see when it is taken)."""
    since = timezone.now() - HISTORY
    bookings = Booking.objects.filter(
        resource_id=feed.resource_id, status__in=HOLDING, ends_at__gte=since
    )
    calendar = calendar_new(feed.resource.title)
    stamp = timezone.now()
    for booking in bookings.order_by("starts_at", "pk"):
        event = Event()
        event.add("uid", event_uid("booking", booking.pk))
        event.add("dtstamp", stamp)
        event.add("dtstart", booking.starts_at)
        event.add("dtend", booking.ends_at)
        event.add("summary", _("Booked"))
        event.add("transp", "OPAQUE")
        event.add("class", "PRIVATE")
        calendar.add_component(event)
    return calendar.to_ical()

"""A person's calendar feed: everything they booked or drive, for the phone's calendar.

Volunteer rides (as rider, and the ones they drive), carpool seats and the departures
they drive with passengers, shop-run sign-ups and the runs they drive, and shared-thing
bookings: one query per kind, whatever their number.

The feed's address is a secret, but the events it carries end up in calendar services
in the cloud (Google, iCloud, Exchange) and on every device the person syncs. So an
event names places the way a stranger may see them (the village, the shop, the thing)
and never an exact home address, a door code, or another person's name or phone: a
ride's pickup and often its destination are somebody's home, and a free-text address
cannot tell a health centre from a house. The person has the exact details in Samby,
and each event links there. Shared-thing bookings are shown as the sharing feed always
showed them: once confirmed, with the pickup instructions the lender wrote for
borrowers and the thing's position.

Cancelled things are left out rather than sent with STATUS:CANCELLED: a phone drops an
event that is no longer in the feed, and some phones show cancelled events as if they
still happened. Times are in UTC (the phone shows them in its own zone).

This module lives in `sharing` because the feed (`CalendarFeed`) and its writing
(`ical.py`) do; it reads the other apps' models, which backend apps may."""

import datetime as dt

from django.conf import settings
from django.db.models import (
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Event

from backend.accounts.models import User
from backend.carpool.models import ACTIVE_BOOKING, OccurrenceStatus, TripOccurrence
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import BookingState as SeatState
from backend.carpool.selectors import VILLAGE_RADIUS_M
from backend.community.models import Village
from backend.rides.models import DRIVER_HOLDS, OPEN_STATES, RideRequest, RideState
from backend.sharing.ical import SHOWN, booking_event, calendar_new, event_uid, resource_feed_ical
from backend.sharing.models import Booking, CalendarFeed
from backend.shuttle.models import (
    ACTIVE_SIGNUP,
    OccurrenceState,
    RunSignup,
    RunVehicle,
    SignupState,
)

# What a person's feed shows: the recent past (to look back at) and the weeks ahead.
# Further ahead is left out so that the feed stays small for phones that fetch it hourly.
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=90)

# A ride as the rider sees it: asked for, on its way, or done. Cancelled, unfulfilled
# (nobody drove) and no-show rides did not happen and are left out.
RIDER_SHOWN = [*OPEN_STATES, *DRIVER_HOLDS, RideState.COMPLETED]
DRIVER_SHOWN = [*DRIVER_HOLDS, RideState.COMPLETED]


def feed_ical(feed: CalendarFeed) -> bytes:
    """The calendar behind a feed's secret address: a person's, or a resource's."""
    if feed.user_id is None:
        return resource_feed_ical(feed)
    return person_feed_ical(user=feed.user)


def person_feed_ical(*, user: User, now: dt.datetime | None = None) -> bytes:
    """Everything `user` booked or drives from FEED_PAST ago to FEED_AHEAD from now, in
    their language. Only their own: not what they book for others as a proxy (those
    people have their own feeds, and a helper's calendar should not fill with them)."""
    now = now or timezone.now()
    since, until = now - FEED_PAST, now + FEED_AHEAD
    with translation.override(user.preferred_language):
        calendar = calendar_new(_("Samby: my rides and bookings"))
        for event in [
            *_rides_as_rider(user, since, until),
            *_rides_driven(user, since, until),
            *_carpool_seats(user, since, until),
            *_carpool_departures_driven(user, since, until),
            *_shop_run_signups(user, since, until),
            *_shop_runs_driven(user, since, until),
            *_shared_bookings(user, since, until),
        ]:
            event.add("dtstamp", now)
            calendar.add_component(event)
        return calendar.to_ical()


# --- Helpers ------------------------------------------------------------------------------


class _Metres(Func):
    """ST_Distance of two geography points in metres (Django's Distance cannot take an
    OuterRef)."""

    function = "ST_Distance"
    output_field = FloatField()


def _village_near(point: str) -> Subquery:
    """The name of the village nearest the row's `point` within VILLAGE_RADIUS_M (as in
    carpool's `village_near`), as a subquery: one query for all rows."""
    return Subquery(
        Village.objects.annotate(metres=_Metres("location", OuterRef(point)))
        .filter(metres__lte=VILLAGE_RADIUS_M)
        .order_by("metres", "pk")
        .values("name")[:1]
    )


def _event(
    kind: str,
    pk: int,
    *,
    start: dt.datetime,
    end: dt.datetime,
    summary: str,
    page: str,
    description: str = "",
    tentative: bool = False,
    location: str = "",
) -> Event:
    event = Event()
    event.add("uid", event_uid(kind, pk))
    event.add("dtstart", start)
    # A phone shows an event without length as a point; give it at least a quarter.
    event.add("dtend", max(end, start + dt.timedelta(minutes=15)))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    event.add("status", "TENTATIVE" if tentative else "CONFIRMED")
    event.add("url", settings.SITE_URL.rstrip("/") + page)
    return event


def _titled(with_place: str, without_place: str, place: str | None) -> str:
    return with_place % {"place": place} if place else without_place


# --- One query per kind -------------------------------------------------------------------


def _rides_as_rider(user: User, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """The person's volunteer rides at the agreed (else the earliest) pickup time, named
    by the destination's village: the destination may be a home (the way back)."""
    rows = (
        RideRequest.objects.filter(rider=user, state__in=RIDER_SHOWN)
        .annotate(
            at=Coalesce("planned_pickup", "earliest_pickup"),
            place=_village_near("destination"),
        )
        .filter(at__gte=since, at__lte=until)
        .order_by("at", "pk")
        .values("pk", "at", "duration_s", "state", "place")
    )
    return [
        _event(
            "ride",
            row["pk"],
            start=row["at"],
            end=row["at"] + dt.timedelta(seconds=row["duration_s"]),
            summary=_titled(_("Ride to %(place)s"), _("Volunteer ride"), row["place"]),
            description=str(RideState(row["state"]).label),
            tentative=row["state"] in OPEN_STATES,
            page=reverse("webapp:ride", args=[row["pk"]]),
        )
        for row in rows
    ]


def _rides_driven(user: User, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """Rides the person holds or held as a volunteer driver: the pickup's village only,
    never the rider's name, address or phone."""
    rows = (
        RideRequest.objects.filter(driver__membership__user=user, state__in=DRIVER_SHOWN)
        .annotate(
            at=Coalesce("planned_pickup", "earliest_pickup"),
            place=Coalesce("village__name", _village_near("pickup")),
        )
        .filter(at__gte=since, at__lte=until)
        .order_by("at", "pk")
        .values("pk", "at", "duration_s", "place")
    )
    return [
        _event(
            "ride-driven",
            row["pk"],
            start=row["at"],
            end=row["at"] + dt.timedelta(seconds=row["duration_s"]),
            summary=_titled(
                _("You drive: ride from %(place)s"), _("You drive a ride"), row["place"]
            ),
            page=reverse("webapp:driver-ride", args=[row["pk"]]),
        )
        for row in rows
    ]


def _carpool_seats(user: User, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """Seats the person asked for or has on someone's departure, from pickup to drop-off,
    between the villages of the two (the pickup may be their door)."""
    rows = (
        SeatBooking.objects.filter(
            passenger=user,
            state__in=ACTIVE_BOOKING,
            pickup_at__gte=since,
            pickup_at__lte=until,
        )
        .exclude(occurrence__status=OccurrenceStatus.CANCELLED)
        .annotate(start=_village_near("pickup"), end=_village_near("dropoff"))
        .order_by("pickup_at", "pk")
        .values("pk", "pickup_at", "dropoff_at", "state", "start", "end")
    )
    return [
        _event(
            "carpool-seat",
            row["pk"],
            start=row["pickup_at"],
            end=row["dropoff_at"],
            summary=_carpool_title(row["start"], row["end"]),
            description=str(SeatState(row["state"]).label),
            tentative=row["state"] == SeatState.REQUESTED,
            page=reverse("webapp:carpool-bookings"),
        )
        for row in rows
    ]


def _carpool_title(start: str | None, end: str | None, *, driving: bool = False) -> str:
    if not (start and end):
        return _("You drive: carpool") if driving else _("Carpool")
    places = {"start": start, "end": end}
    if driving:
        return _("You drive: carpool from %(start)s to %(end)s") % places
    return _("Carpool from %(start)s to %(end)s") % places


def _carpool_departures_driven(user: User, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """Departures of the person's carpool trips on which someone has a confirmed seat: a
    departure nobody booked is no appointment."""
    confirmed = SeatBooking.objects.filter(occurrence=OuterRef("pk"), state=SeatState.CONFIRMED)
    rows = (
        TripOccurrence.objects.filter(
            Exists(confirmed),
            trip__driver=user,
            departure_at__gte=since,
            departure_at__lte=until,
        )
        .exclude(status=OccurrenceStatus.CANCELLED)
        .annotate(
            start=Coalesce("trip__origin_village__name", _village_near("trip__origin")),
            end=Coalesce("trip__destination_village__name", _village_near("trip__destination")),
        )
        .order_by("departure_at", "pk")
        .values("pk", "departure_at", "span", "start", "end")
    )
    return [
        _event(
            "carpool-departure",
            row["pk"],
            start=row["departure_at"],
            end=row["span"].upper or row["departure_at"],
            summary=_carpool_title(row["start"], row["end"], driving=True),
            page=reverse("webapp:carpool-trips"),
        )
        for row in rows
    ]


def _shop_run_signups(user: User, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """The person's shop runs: from the estimated pickup (else the time at the shop)
    until the run leaves the shop."""
    rows = (
        RunSignup.objects.filter(
            passenger=user,
            state__in=ACTIVE_SIGNUP,
            occurrence__arrive_at__gte=since,
            occurrence__arrive_at__lte=until,
        )
        .exclude(occurrence__state=OccurrenceState.CANCELLED)
        .annotate(
            start=Coalesce("estimated_pickup", "occurrence__arrive_at"),
            end=F("occurrence__leave_at"),
            shop=F("occurrence__schedule__destination_name"),
        )
        .order_by("start", "pk")
        .values("pk", "start", "end", "shop", "state")
    )
    return [
        _event(
            "shop-run",
            row["pk"],
            start=row["start"],
            end=row["end"],
            summary=_("Shop run to %(shop)s") % {"shop": row["shop"]},
            location=row["shop"],
            description=str(SignupState(row["state"]).label),
            tentative=row["state"] != SignupState.CONFIRMED,
            page=reverse("webapp:shop-runs"),
        )
        for row in rows
    ]


def _shop_runs_driven(user: User, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """Shop runs the person drives a car on, for the time the car is out (its busy
    range: from leaving home until back from the shop)."""
    rows = (
        RunVehicle.objects.filter(
            driver__membership__user=user,
            occurrence__arrive_at__gte=since,
            occurrence__arrive_at__lte=until,
        )
        .exclude(occurrence__state=OccurrenceState.CANCELLED)
        .annotate(
            shop=F("occurrence__schedule__destination_name"),
        )
        .order_by("occurrence__arrive_at", "pk")
        .values("pk", "busy", "shop", "occurrence_id")
    )
    return [
        _event(
            "shop-run-driven",
            row["pk"],
            start=row["busy"].lower,
            end=row["busy"].upper,
            summary=_("You drive: shop run to %(shop)s") % {"shop": row["shop"]},
            location=row["shop"],
            page=reverse("webapp:shuttle-run-sheet", args=[row["occurrence_id"]]),
        )
        for row in rows
    ]


def _shared_bookings(user: User, since: dt.datetime, until: dt.datetime) -> list[Event]:
    """The person's bookings of shared things, as the sharing feed has always shown
    them (`booking_event`)."""
    bookings: QuerySet[Booking] = Booking.objects.filter(
        booker=user, status__in=SHOWN, ends_at__gte=since, starts_at__lte=until
    ).select_related("resource")
    events = []
    for booking in bookings.order_by("starts_at", "pk"):
        event = booking_event(booking)
        event.add("url", settings.SITE_URL.rstrip("/") + reverse("webapp:sharing-bookings"))
        events.append(event)
    return events

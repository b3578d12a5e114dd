"""Where a notification takes its recipient: the page where they act on it or read more.

Every kind of backend/notifications/kinds.py has an entry in LINKS, a page or None (no
page says more than the message itself; it opens the messages page). A test fails for a
kind without one, so a new kind gets a decision. The ids come from the payload; a
notification stored before its kind carried the id, or whose object is gone, opens the
messages page, and a page the recipient can no longer open (a ride given to another
driver) is replaced by the nearest one they can.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from backend.accounts.models import User
from backend.carpool.models import SavedSearchAlert
from backend.community.selectors import user_coordinates
from backend.rides.models import DRIVER_HOLDS, Offer, RideRequest
from backend.rides.selectors import driver_memberships_of, driver_profiles_of
from backend.sharing.models import Booking as SharingBooking
from backend.sharing.models import Resource
from backend.shuttle.models import RunOccurrence, RunVehicle

Link = Callable[[dict, User], str | None]


def notification_link(kind: str, payload: dict, *, recipient: User) -> str | None:
    """The page of `kind`'s notification for `recipient`, or None for the messages page."""
    link = LINKS.get(kind)
    if link is None:
        return None
    try:
        return link(payload, recipient)
    except (KeyError, TypeError, ValueError):
        return None  # an older payload without the id, or not one: the messages page


# --- Building blocks --------------------------------------------------------------------------


def to(name: str, fragment: str = "") -> Link:
    """Always the same page."""
    return lambda payload, recipient: reverse(name) + (f"#{fragment}" if fragment else "")


def _id(payload: dict, key: str) -> int:
    value = payload[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} is not an id")
    return value


def _with(url: str, **query) -> str:
    return f"{url}?{urlencode(query)}"


def _console(name: str, association_id: int | None, recipient: User, *args) -> str | None:
    """A console page of the association, chosen (`?association=`) for someone who
    coordinates several; None when the recipient no longer coordinates it."""
    if association_id is None or not user_coordinates(
        user=recipient, association_id=association_id
    ):
        return None
    return _with(reverse(name, args=args), association=association_id)


def membership_request_roster(payload: dict, recipient: User) -> str | None:
    """The console's roster of the association someone asked to join, at the requests
    waiting; None (the messages page) when the recipient no longer coordinates it."""
    url = _console("webapp:console-roster", _id(payload, "association_id"), recipient)
    return f"{url}#pending-title" if url else None


def association_console(payload: dict, recipient: User) -> str | None:
    """The console of the association that made the recipient a coordinator; None (the
    messages page) once they no longer coordinate it."""
    return _console("webapp:console", _id(payload, "association_id"), recipient)


# --- Volunteer rides ---------------------------------------------------------------------------


def rider_ride(payload: dict, recipient: User) -> str:
    return reverse("webapp:ride", args=[_id(payload, "ride")])


def driver_ride(payload: dict, recipient: User) -> str:
    """The ride the recipient drives; driver mode when they no longer hold it."""
    association_id = (
        RideRequest.objects.filter(
            pk=_id(payload, "ride"),
            driver__membership__user=recipient,
            state__in=DRIVER_HOLDS,
        )
        .values_list("association_id", flat=True)
        .first()
    )
    if association_id is None:
        return reverse("webapp:driver")
    return _with(reverse("webapp:driver-ride", args=[payload["ride"]]), association=association_id)


def ride_reminder(payload: dict, recipient: User) -> str:
    """Sent to the rider and to the driver: the driver's page for the one who drives."""
    ride_id = _id(payload, "ride")
    if RideRequest.objects.filter(pk=ride_id, driver__membership__user=recipient).exists():
        return driver_ride(payload, recipient)
    return rider_ride(payload, recipient)


def ride_offer(payload: dict, recipient: User) -> str:
    """Driver mode of the offer's association, at the offer, where it is answered."""
    offer_id = _id(payload, "offer")
    association_id = (
        Offer.objects.filter(pk=offer_id, driver__membership__user=recipient)
        .values_list("driver__membership__association_id", flat=True)
        .first()
    )
    url = reverse("webapp:driver")
    if association_id is not None:
        url = _with(url, association=association_id)
    return f"{url}#offer-{offer_id}"


def driver_mode(payload: dict, recipient: User) -> str:
    """The ride is no longer the driver's: driver mode of its association, with what they
    still drive there; the first one when they no longer drive for it (or an older
    message does not say which)."""
    url = reverse("webapp:driver")
    if "association" not in payload:
        return url
    association_id = _id(payload, "association")
    if (
        not driver_profiles_of(user=recipient)
        .filter(membership__association_id=association_id)
        .exists()
    ):
        return url
    return _with(url, association=association_id)


def driver_setup(payload: dict, recipient: User) -> str | None:
    """Made a driver: their car and area in driver mode of that association (the first
    setup while they have no driver profile there); None when they no longer drive for
    it."""
    association_id = _id(payload, "association_id")
    if not driver_memberships_of(user=recipient).filter(association_id=association_id).exists():
        return None
    return _with(reverse("webapp:driver-profile"), association=association_id)


def driver_kilometres(payload: dict, recipient: User) -> str | None:
    """A claim decided: the driver's kilometres in driver mode of the ride's association,
    where the claim's state shows; None when they no longer drive for it."""
    association_id = _id(payload, "association")
    if (
        not driver_profiles_of(user=recipient)
        .filter(membership__association_id=association_id)
        .exists()
    ):
        return None
    return _with(reverse("webapp:driver-km"), association=association_id) + "#logbook"


def mileage_claims(payload: dict, recipient: User) -> str | None:
    """To a coordinator: the association's mileage page, at the claims waiting."""
    url = _console("webapp:console-mileage", _id(payload, "association_id"), recipient)
    return f"{url}#claims" if url else None


def console_ride(payload: dict, recipient: User) -> str | None:
    ride_id = _id(payload, "ride")
    association_id = (
        RideRequest.objects.filter(pk=ride_id).values_list("association_id", flat=True).first()
    )
    return _console("webapp:console-ride", association_id, recipient, ride_id)


# --- Shop runs ---------------------------------------------------------------------------------


def run_sheet(payload: dict, recipient: User) -> str:
    return reverse("webapp:shuttle-run-sheet", args=[_id(payload, "run")])


def run_changed(payload: dict, recipient: User) -> str:
    """A run cancelled or moved is told to those signed up and its drivers: a driver's
    run sheet, everyone else's sign-ups (an older message without the run's id too)."""
    if "run" in payload and (
        RunVehicle.objects.filter(
            occurrence_id=_id(payload, "run"), driver__membership__user=recipient
        ).exists()
    ):
        return run_sheet(payload, recipient)
    return MY_SIGNUPS(payload, recipient)


def console_runs(payload: dict, recipient: User) -> str | None:
    association_id = (
        RunOccurrence.objects.filter(pk=_id(payload, "run"))
        .values_list("association_id", flat=True)
        .first()
    )
    return _console("webapp:console-runs", association_id, recipient)


# --- Carpooling --------------------------------------------------------------------------------


def carpool_driver(payload: dict, recipient: User) -> str:
    """The driver's trips, at the trip, where requests are answered."""
    return reverse("webapp:carpool-trips") + f"#trip-{_id(payload, 'trip')}"


def carpool_cancelled(payload: dict, recipient: User) -> str:
    """Either side cancelled: the driver's copy names the trip."""
    if "trip" in payload:
        return carpool_driver(payload, recipient)
    return reverse("webapp:carpool-bookings")


def carpool_alert(payload: dict, recipient: User) -> str:
    """The search of the ride alert on the day of the departure, which finds the trip
    with its Book button; the search page when the alert has no addresses to search."""
    alert = (
        SavedSearchAlert.objects.filter(
            search__owner=recipient, occurrence_id=_id(payload, "occurrence")
        )
        .select_related("search", "occurrence")
        .first()
    )
    url = reverse("webapp:carpool")
    if alert is None:
        return url
    search = alert.search
    if not (search.pickup_address and search.dropoff_address):
        return url
    return _with(
        url,
        pickup_address=search.pickup_address,
        pickup_lon=search.pickup.x,
        pickup_lat=search.pickup.y,
        dropoff_address=search.dropoff_address,
        dropoff_lon=search.dropoff.x,
        dropoff_lat=search.dropoff.y,
        day=timezone.localtime(alert.occurrence.departure_at).date().isoformat(),
        earliest=search.earliest.strftime("%H:%M"),
        latest=search.latest.strftime("%H:%M"),
        seats=search.seats,
    )


# --- Shared cars, tools and rooms ----------------------------------------------------------


def _manager_page(resource: Resource, recipient: User) -> str | None:
    """Where the one who decides about the thing does so: the owner's own things, or the
    console of its association for a coordinator; None for anyone else."""
    if resource.owner_id == recipient.pk:
        return reverse("webapp:sharing-mine")
    return _console("webapp:console-sharing", resource.association_id, recipient)


def _booking(payload: dict) -> SharingBooking:
    booking = (
        SharingBooking.objects.filter(pk=_id(payload, "booking")).select_related("resource").first()
    )
    if booking is None:
        raise ValueError("no such booking")
    return booking


def sharing_manager(payload: dict, recipient: User) -> str | None:
    """A booking to decide on, for the thing's owner or a coordinator."""
    return _manager_page(_booking(payload).resource, recipient)


def sharing_either_side(payload: dict, recipient: User) -> str | None:
    """A cancellation is told to the other side: the booker's bookings, or the page of
    whoever manages the thing."""
    booking = _booking(payload)
    if recipient.pk in (booking.booker_id, booking.booked_by_id):
        return reverse("webapp:sharing-bookings")
    return _manager_page(booking.resource, recipient)


def sharing_resource(payload: dict, recipient: User) -> str | None:
    """A note or a breakdown: the manager's page for its manager, else the thing's page."""
    resource = Resource.objects.filter(pk=_id(payload, "resource_id")).first()
    if resource is None:
        return None
    return _manager_page(resource, recipient) or reverse(
        "webapp:sharing-resource", args=[resource.pk]
    )


def sharing_console(payload: dict, recipient: User) -> str | None:
    return _console("webapp:console-sharing", _booking(payload).resource.association_id, recipient)


def sharing_book(payload: dict, recipient: User) -> str:
    return reverse("webapp:sharing-resource", args=[_id(payload, "resource_id")])


# --- Every kind -------------------------------------------------------------------------------

MY_SIGNUPS = to("webapp:shop-runs", "my-signups")
MY_SHARING_BOOKINGS = to("webapp:sharing-bookings")

LINKS: dict[str, Link | None] = {
    "membership.approved": to("webapp:home"),
    # The reason is in the message; nothing to do on a page.
    "membership.suspended": None,
    # To a coordinator: the roster of the association, where the request is answered.
    "membership.requested": membership_request_roster,
    # The person may ask again, there or elsewhere.
    "membership.declined": to("webapp:associations"),
    # Made a driver: the first setup of driver mode (car, area, where they drive from).
    "membership.driver_role": driver_setup,
    # Made a coordinator: the console of the association (none once the role is gone).
    "membership.coordinator_role": association_console,
    # The message says all; the console is closed to them.
    "membership.coordinator_role_taken": None,
    "proxy.added": to("webapp:profile"),
    "proxy.invited": to("webapp:profile", "proxy-requests"),
    "proxy.accepted": to("webapp:profile"),
    "proxy.declined": to("webapp:profile"),
    # Volunteer rides: the rider's page (for whoever booked for them too)
    "ride.requested": rider_ride,
    "ride.accepted": rider_ride,
    "ride.en_route": rider_ride,
    "ride.no_show": rider_ride,
    "ride.driver_withdrew": rider_ride,
    "ride.unfulfilled": rider_ride,
    "ride.cancelled_by_association": rider_ride,
    "ride.reminder": ride_reminder,
    # Volunteer rides: drivers and coordinators
    "ride.offered": ride_offer,
    # The ride went to someone else or needs nobody: a thank-you, nothing to open.
    "ride.offer_withdrawn": None,
    "ride.offer_closed": None,
    "ride.assigned": driver_ride,
    # Not the driver's ride any more: driver mode, with what they still drive.
    "ride.cancelled": driver_mode,
    "ride.released": driver_mode,
    "ride.released_to_dispatch": driver_mode,
    "ride.unassigned": console_ride,
    # Kilometres beyond what the ride takes: decided on the mileage page; the outcome is
    # seen in the driver's logbook.
    "mileage.claim_waiting": mileage_claims,
    "mileage.claim_approved": driver_kilometres,
    "mileage.claim_declined": driver_kilometres,
    # Plans are reviewed and approved in the app; the web console has no page for them.
    "ride.plan_ready": None,
    # The text is the whole message: the messages page, at it (the open page's default).
    "association.message": None,
    # Shop runs: passengers and whoever signed them up
    "shuttle.signed_up": MY_SIGNUPS,
    "shuttle.waitlisted": MY_SIGNUPS,
    "shuttle.seat_offered": MY_SIGNUPS,
    "shuttle.signup_cancelled": MY_SIGNUPS,
    # ... and the run's drivers: their run sheet.
    "shuttle.run_cancelled": run_changed,
    "shuttle.run_moved": run_changed,
    "shuttle.reminder": MY_SIGNUPS,
    # Shop runs: drivers and coordinators. A run is offered to drivers by SMS and in the
    # app; the web has no page to answer it.
    "shuttle.run_offered": None,
    "shuttle.run_assigned": run_sheet,
    "shuttle.vehicle_released": None,
    "shuttle.driver_reminder": run_sheet,
    "shuttle.run_needs_driver": console_runs,
    "shuttle.plan_problem": console_runs,
    # Carpooling
    "carpool.booking_requested": carpool_driver,
    "carpool.booked": carpool_driver,
    "carpool.booking_confirmed": to("webapp:carpool-bookings"),
    # "Search for another trip": the search.
    "carpool.booking_declined": to("webapp:carpool"),
    "carpool.booking_cancelled": carpool_cancelled,
    "carpool.trip_cancelled": to("webapp:carpool-bookings"),
    # The new pickup time, and cancelling there if it does not suit.
    "carpool.departure_moved": to("webapp:carpool-bookings"),
    # To the driver, when a coordinator moved their departure: their trips, at the trip.
    "carpool.departure_moved_by_coordinator": carpool_driver,
    "carpool.alert": carpool_alert,
    # Reports are read in the app; the web console has no page for them.
    "carpool.report": None,
    # Shared cars, tools and rooms
    "sharing.booking_confirmed": MY_SHARING_BOOKINGS,
    "sharing.booking_requested": sharing_manager,
    "sharing.booking_declined": MY_SHARING_BOOKINGS,
    "sharing.booking_cancelled": sharing_either_side,
    "sharing.reminder": MY_SHARING_BOOKINGS,
    "sharing.overdue": MY_SHARING_BOOKINGS,
    "sharing.next_booker_late": MY_SHARING_BOOKINGS,
    "sharing.back": MY_SHARING_BOOKINGS,
    "sharing.problem_noted": sharing_resource,
    "sharing.out_of_service": MY_SHARING_BOOKINGS,
    "sharing.breakdown": sharing_resource,
    "sharing.odometer_flag": sharing_console,
    "sharing.waitlist_free": sharing_book,
}

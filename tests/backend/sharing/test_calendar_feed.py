"""A person's calendar feed: one event for each thing they booked or drive, at the right
time, with places no more exact than a village or a shop, and nothing of anyone else."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone
from icalendar import Calendar

from backend.accounts.models import User
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import TripOccurrence
from backend.carpool.services import booking_accept, booking_request
from backend.carpool.services import booking_cancel as seat_cancel
from backend.rides.models import RideState
from backend.rides.services import busy_range
from backend.sharing.calendar_feed import FEED_AHEAD, FEED_PAST, feed_ical, person_feed_ical
from backend.sharing.models import BookingStatus
from backend.sharing.services import feed_rotate, person_feed_get_or_create
from backend.shuttle.models import RunOccurrence, RunSignup
from backend.shuttle.services import signup_cancel, signup_create, vehicle_add
from dispatch import carpool
from tests.carpool_fixtures import EAST, WEST, along
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
    next_weekday_at,
)
from tests.sharing_fixtures import BookingFactory, ResourceFactory
from tests.shuttle_world import HOMES, make_world

pytestmark = pytest.mark.django_db

HOST = "127.0.0.1:8000"

# What nobody's calendar may carry: exact homes, phones and names of the other people.
OTHERS = {
    "rider": ("Rune Åkesson", "+46701751001", "Runes gränd 7, Dala-Järna"),
    "carpool_driver": ("Cecilia Ek", "+46701751002", "Cecilias backe 5, Väst"),
    "passenger": ("Quintus Lund", "+46701751003", "Quintus stig 11, Öst"),
    "run_passenger": ("Sigrid Holm", "+46701751004", "Sigrids väg 2, Vansbro"),
    "outsider": ("Olga Annan", "+46701751005", "Olgas allé 8, Vansbro"),
}
OWN_HOME = "Eriks väg 1"  # the person's own home: not in the feed either
OWN_PICKUP = "Hemgatan 3, Vansbro"


@dataclass
class Scene:
    person: User
    expected: dict[str, tuple[dt.datetime, dt.datetime, str]]  # uid -> start, end, title


def _other(key: str, association=None) -> User:
    name, phone, address = OTHERS[key]
    user = UserFactory(full_name=name, phone=phone, home_address=address)
    if association is not None:
        MembershipFactory(user=user, association=association)
    return user


def _hold(ride, driver, at: dt.datetime) -> None:
    """The driver accepted the ride for `at` (as the offer flow leaves it)."""
    ride.state, ride.driver, ride.planned_pickup = RideState.ACCEPTED, driver, at
    ride.busy = busy_range(ride, at)
    ride.save()


def uid(kind: str, pk: int) -> str:
    return f"{kind}-{pk}@{HOST}"


@pytest.fixture
def scene(settings) -> Scene:
    """Erik, a member and volunteer driver, with one of each: a ride he is driven on, a
    ride he drives, a carpool seat, a carpool departure he drives with a passenger, a
    shop-run sign-up, a run he drives and a shared-thing booking. Besides: his cancelled
    things, his departure nobody booked, and another person's things."""
    settings.ROUTER_URL = ""
    world = make_world()
    a = world.association
    # Villages at both ends of the carpool line, so that its places have names.
    a.villages.add(
        VillageFactory(name="Västby", municipality=a.municipality, location=WEST),
        VillageFactory(name="Östby", municipality=a.municipality, location=EAST),
    )
    profile = world.drivers[0]
    person = profile.membership.user
    # Titles are checked in English; test_feed_speaks_the_persons_language checks Swedish.
    person.preferred_language = "en"
    person.save(update_fields=["preferred_language"])
    rider = _other("rider", a)
    carpool_driver = _other("carpool_driver", a)
    passenger = _other("passenger", a)
    run_passenger = _other("run_passenger", a)
    outsider = _other("outsider", a)
    expected = {}

    # Volunteer rides: driven to the health centre, and driving Rune from Dala-Järna.
    other_driver = DriverProfileFactory(membership__association=a)
    at = next_weekday_at(1, 9, 30)
    ride = RideRequestFactory(
        rider=person,
        association=a,
        pickup_address=OWN_PICKUP,
        earliest_pickup=at,
    )
    _hold(ride, other_driver, at)
    expected[uid("ride", ride.pk)] = (at, at + dt.timedelta(seconds=900), "Ride to Dala-Järna")
    at = next_weekday_at(2, 13, 0)
    driven = RideRequestFactory(
        rider=rider,
        association=a,
        pickup=DALA_JARNA,
        pickup_address=OTHERS["rider"][2],
        destination=VANSBRO,
        destination_address="Apoteket, Vansbro",
        note=f"Ring {OTHERS['rider'][1]}, portkod 4455",
        earliest_pickup=at,
    )
    _hold(driven, profile, at)
    expected[uid("ride-driven", driven.pk)] = (
        at,
        at + dt.timedelta(seconds=900),
        "You drive: ride from Dala-Järna",
    )
    RideRequestFactory(rider=person, association=a, state=RideState.CANCELLED)
    RideRequestFactory(rider=outsider, association=a, pickup_address=OTHERS["outsider"][2])

    # Carpool: a seat on Cecilia's trip, and his own trip with Quintus on it.
    trip = carpool.trip_publish(
        driver=carpool_driver,
        origin=WEST,
        origin_address=OTHERS["carpool_driver"][2],
        destination=EAST,
        destination_address="Torget 2, Östby",
        first_departure=next_weekday_at(0, 7, 0),
        rrule="FREQ=WEEKLY",
        seats=3,
    )
    first, second = TripOccurrence.objects.filter(trip=trip).order_by("departure_at")[:2]
    seat = booking_request(
        actor=person,
        passenger=person,
        occurrence=first,
        pickup=along(0.2),
        pickup_address=OWN_PICKUP,
        dropoff=along(0.8),
        dropoff_address="Torget 2, Östby",
    )
    seat = booking_accept(booking=seat, actor=carpool_driver)
    expected[uid("carpool-seat", seat.pk)] = (
        seat.pickup_at,
        seat.dropoff_at,
        "Carpool from Västby to Dala-Järna",  # the nearest village to the drop-off
    )
    cancelled_seat = booking_request(
        actor=person,
        passenger=person,
        occurrence=second,
        pickup=along(0.2),
        pickup_address=OWN_PICKUP,
        dropoff=along(0.8),
        dropoff_address="Torget 2, Östby",
    )
    seat_cancel(booking=cancelled_seat, actor=person)
    own_trip = carpool.trip_publish(
        driver=person,
        origin=EAST,
        origin_address=OWN_HOME,
        destination=WEST,
        destination_address="Kyrkan, Västby",
        first_departure=next_weekday_at(4, 8, 0),
        rrule="FREQ=WEEKLY",
        seats=3,
    )
    departure = TripOccurrence.objects.filter(trip=own_trip).order_by("departure_at").first()
    taken = booking_request(
        actor=passenger,
        passenger=passenger,
        occurrence=departure,
        pickup=along(0.7),
        pickup_address=OTHERS["passenger"][2],
        dropoff=along(0.1),
        dropoff_address="Kyrkan, Västby",
    )
    booking_accept(booking=taken, actor=person)
    departure.refresh_from_db()
    expected[uid("carpool-departure", departure.pk)] = (
        departure.departure_at,
        departure.span.upper,
        "You drive: carpool from Östby to Västby",
    )

    # Shop runs: signed up for the first, driving a car on the second (with Sigrid).
    runs = list(RunOccurrence.objects.filter(schedule=world.schedule).order_by("arrive_at"))
    signup = signup_create(actor=person, occurrence=runs[0], passenger=person)
    expected[uid("shop-run", signup.pk)] = (
        runs[0].arrive_at,
        runs[0].leave_at,
        "Shop run to ICA Nära Vansbro",
    )
    signup_create(
        actor=run_passenger,
        occurrence=runs[1],
        passenger=run_passenger,
        pickup=HOMES[2],
        pickup_address=OTHERS["run_passenger"][2],
    )
    signup_create(actor=outsider, occurrence=runs[0], passenger=outsider, pickup=HOMES[3])
    vehicle = vehicle_add(
        occurrence=runs[1], driver=profile, actor=world.coordinator, by_coordinator=True
    )
    expected[uid("shop-run-driven", vehicle.pk)] = (
        vehicle.busy.lower,
        vehicle.busy.upper,
        "You drive: shop run to ICA Nära Vansbro",
    )
    signup_cancel(
        actor=person, signup=signup_create(actor=person, occurrence=runs[2], passenger=person)
    )

    # Shared things: a trailer booked, a cancelled booking, someone else's booking.
    trailer = ResourceFactory(association=a, title="Släpvagnen")
    booking = BookingFactory(resource=trailer, booker=person)
    expected[uid("booking", booking.pk)] = (booking.starts_at, booking.ends_at, "Släpvagnen")
    BookingFactory(
        resource=trailer,
        booker=person,
        status=BookingStatus.CANCELLED,
        starts_at=next_weekday_at(4, 10),
        ends_at=next_weekday_at(4, 12),
        blocked_until=next_weekday_at(4, 12),
    )
    BookingFactory(
        resource=trailer,
        booker=outsider,
        starts_at=next_weekday_at(3, 10),
        ends_at=next_weekday_at(3, 12),
        blocked_until=next_weekday_at(3, 12),
    )
    return Scene(person=person, expected=expected)


def _events(body: bytes) -> dict:
    return {str(event["uid"]): event for event in Calendar.from_ical(body).walk("VEVENT")}


def test_feed_holds_each_thing_once_at_its_time(scene):
    body = person_feed_ical(user=scene.person)
    events = _events(body)
    uids = [str(event["uid"]) for event in Calendar.from_ical(body).walk("VEVENT")]
    assert sorted(uids) == sorted(scene.expected)  # each once; nothing cancelled or others'
    for key, (start, end, title) in scene.expected.items():
        event = events[key]
        # iCalendar times are whole seconds.
        start, end = start.replace(microsecond=0), end.replace(microsecond=0)
        assert (event.decoded("dtstart"), event.decoded("dtend"), str(event["summary"])) == (
            start,
            end,
            title,
        ), key
        assert event.decoded("dtstart").utcoffset() == dt.timedelta(0)  # UTC
        assert "dtstamp" in event
        assert str(event["url"]).startswith("http://127.0.0.1:8000/")


def test_feed_asks_phones_to_look_hourly(scene):
    text = person_feed_ical(user=scene.person).decode()
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in text


def test_feed_holds_no_exact_home_phone_or_name_of_anyone(scene):
    text = person_feed_ical(user=scene.person).decode()
    unfolded = text.replace("\r\n ", "")
    for name, phone, address in OTHERS.values():
        for secret in (name, phone, address, address.split(",")[0]):
            assert secret not in unfolded
    for own in (OWN_HOME, OWN_PICKUP, scene.person.phone, "4455"):
        assert own not in unfolded


def test_feed_speaks_the_persons_language(scene):
    def ride_state(person) -> str:
        events = _events(person_feed_ical(user=person))
        return next(str(e["description"]) for k, e in events.items() if k.startswith("ride-"))

    assert ride_state(scene.person) == "driver found"
    scene.person.preferred_language = "sv"
    scene.person.save(update_fields=["preferred_language"])
    assert ride_state(scene.person) == "förare klar"


def test_feed_reads_one_query_per_kind(scene, django_assert_num_queries):
    # Rides as rider, rides driven, carpool seats, departures driven, shop-run sign-ups,
    # runs driven, shared bookings: seven, whatever their number.
    with django_assert_num_queries(7):
        person_feed_ical(user=scene.person)


def test_feed_window_leaves_out_the_far_past_and_future(scene):
    """Everything here happens in the next two weeks."""
    person, now = scene.person, timezone.now()
    in_a_month = _events(person_feed_ical(user=person, now=now + dt.timedelta(days=20)))
    assert set(in_a_month) == set(scene.expected)  # still within FEED_PAST
    too_early = now - FEED_AHEAD - dt.timedelta(days=1)
    assert _events(person_feed_ical(user=person, now=too_early)) == {}
    too_late = now + FEED_PAST + dt.timedelta(days=15)
    assert _events(person_feed_ical(user=person, now=too_late)) == {}


def test_a_rotated_feed_is_the_same_calendar_at_a_new_address(scene):
    feed = person_feed_get_or_create(user=scene.person)
    before = set(_events(feed_ical(feed)))
    feed = feed_rotate(feed=feed)
    assert set(_events(feed_ical(feed))) == before == set(scene.expected)


@pytest.mark.parametrize("state", ["waitlisted", "offered"], ids=["waitlisted", "seat-offered"])
def test_a_sign_up_without_a_seat_yet_is_tentative(scene, state):
    RunSignup.objects.filter(passenger=scene.person).exclude(state="cancelled").update(
        state=state, offer_expires_at=timezone.now() + dt.timedelta(hours=2)
    )
    shop_runs = [
        event
        for key, event in _events(person_feed_ical(user=scene.person)).items()
        if key.startswith("shop-run-") and not key.startswith("shop-run-driven-")
    ]
    assert [str(e["status"]) for e in shop_runs] == ["TENTATIVE"]


def test_a_departure_nobody_booked_and_a_cancelled_run_are_not_appointments(scene):
    person = scene.person
    SeatBooking.objects.filter(occurrence__trip__driver=person).update(
        state="cancelled", cancelled_by="driver"
    )
    RunOccurrence.objects.filter(vehicles__driver__membership__user=person).update(
        state="cancelled"
    )
    uids = set(_events(person_feed_ical(user=person)))
    assert not [u for u in uids if u.startswith(("carpool-departure-", "shop-run-driven-"))]
    assert len(uids) == len(scene.expected) - 2

"""A person with something in every corner of Samby, for the export and erasure tests.

Built on the shop run world (tests/shuttle_world.py): Greta Andersson is a managed
profile whose daughter Lena is her proxy; Erik Olsson drives. Greta gets a volunteer
ride, a carpool seat, a booked trailer, a shop run sign-up, messages, a push device and
an audit entry; Erik gets a carpool trip (with Greta's seat on it) and a lent trailer.
"""

import datetime
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.accounts.models import User
from backend.audit.services import audit_record
from backend.carpool import services as carpool_services
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import Trip
from backend.community.models import Membership
from backend.notifications.models import NotificationPreference, PushSubscription, QuietHours
from backend.notifications.services import notify
from backend.rides.models import RiderApproval, RideRequest
from backend.sharing.models import Booking as ThingBooking
from backend.sharing.models import Resource
from backend.shuttle.models import RunSignup
from dispatch import carpool, shop_runs
from tests.factories import RideRequestFactory, next_weekday_at
from tests.sharing_fixtures import BookingFactory, ResourceFactory
from tests.shuttle_world import HOMES, World, make_world

WEST = Point(14.10, 60.52, srid=4326)
EAST = Point(14.40, 60.52, srid=4326)


@dataclass
class PrivacyWorld:
    shop: World
    greta: User
    lena: User
    erik: User
    ride: RideRequest
    trip: Trip
    seat: SeatBooking
    trailer: Resource
    thing_booking: ThingBooking
    signup: RunSignup


def make_privacy_world(settings) -> PrivacyWorld:
    settings.ROUTER_URL = ""
    shop = make_world()
    greta, lena, erik = shop.managed, shop.daughter, shop.driver_user(0)
    membership = Membership.objects.get(user=greta, association=shop.association)
    RiderApproval.objects.create(membership=membership, approved_by=shop.coordinator)

    ride = RideRequestFactory(
        rider=greta,
        requested_by=lena,
        association=shop.association,
        pickup=HOMES[-1],
        pickup_address="Gretas väg 9",
        note="Rullator i bagaget",
    )
    trip = carpool.trip_publish(
        driver=erik,
        origin=WEST,
        origin_address="Eriks väg 1",
        destination=EAST,
        destination_address="Torget 2",
        first_departure=next_weekday_at(0, 7, 0) + datetime.timedelta(days=7),
        seats=3,
        instant_booking=True,
    )
    occurrence = trip.occurrences.order_by("departure_at").first()
    seat = carpool_services.booking_request(
        actor=lena,
        passenger=greta,
        occurrence=occurrence,
        pickup=Point(14.20, 60.521, srid=4326),
        pickup_address="Gretas väg 9",
        dropoff=Point(14.35, 60.521, srid=4326),
        dropoff_address="Vårdcentralen",
        message="Jag har en rullator",
    )
    trailer = ResourceFactory(
        association=shop.association,
        owner=erik,
        title="Eriks släpvagn",
        location=HOMES[0],
        pickup_instructions="Eriks väg 1, vid garaget",
    )
    thing_booking = BookingFactory(
        resource=trailer,
        booker=greta,
        booked_by=lena,
        note="Till flytten",
        starts_at=timezone.now() + datetime.timedelta(days=5),
        ends_at=timezone.now() + datetime.timedelta(days=5, hours=2),
        blocked_until=timezone.now() + datetime.timedelta(days=5, hours=2),
    )
    signup = shop_runs.signup_submit(
        actor=lena, occurrence=shop.occurrence, passenger=greta, note="Ringer på dörren"
    )
    notify(greta, "ride.cancelled", {"when": "2026-01-10 10:00", "reason": "test"})
    NotificationPreference.objects.create(user=greta, kind="ride.cancelled", channels=["sms"])
    QuietHours.objects.create(user=greta, start=datetime.time(21), end=datetime.time(8))
    PushSubscription.objects.create(
        user=greta,
        endpoint="https://push.example/greta",
        p256dh="key",
        auth="auth",
        user_agent="Firefox",
    )
    audit_record(actor=shop.coordinator, action="ride.view", subject=greta, detail={"ride": 1})
    return PrivacyWorld(shop, greta, lena, erik, ride, trip, seat, trailer, thing_booking, signup)

"""One small world for the permission matrix: every role, and one object of each kind
that the URL patterns take an id of, all in association A of municipality Vansbro.

The resident owns the objects a resident can own (rides, a carpool booking, a shop-run
sign-up, a shared-car booking, a saved search, notifications, a calendar feed). The
assigned driver drives them (holds the ride, offers the carpool trip, drives the run's
car). Everybody else is related to them only as their role says."""

import datetime as dt
import io
from dataclasses import dataclass, field

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from backend.accounts.models import ProxyLink, User
from backend.carpool.models import Booking as CarpoolBooking
from backend.carpool.models import SavedSearch, TripOccurrence
from backend.carpool.services import booking_request as carpool_booking_request
from backend.carpool.services import saved_search_create
from backend.community.models import (
    Association,
    Membership,
    Municipality,
    MunicipalityAnalyst,
    Role,
)
from backend.notifications.models import Notification
from backend.rides.models import (
    AssignmentPlan,
    AvailabilityException,
    DriverProfile,
    MileageClaim,
    Offer,
    OfferState,
    RiderApproval,
    RideRequest,
    RideState,
)
from backend.rides.services import busy_range
from backend.sharing.models import (
    ApprovalMode,
    BookingStatus,
    CalendarFeed,
    ResourceKind,
)
from backend.sharing.models import Booking as SharingBooking
from backend.sharing.services import booking_request as sharing_booking_request
from backend.sharing.services import resource_photo_add
from backend.shuttle.models import RunOccurrence, RunOffer, RunSignup, RunVehicle, StandingSignup
from backend.shuttle.services import schedule_create, signup_create, vehicle_add
from dispatch import carpool
from tests.carpool_fixtures import EAST, WEST, along
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    MembershipFactory,
    MunicipalityFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
    next_weekday_at,
)
from tests.sharing_fixtures import ResourceFactory

ROLES = [
    "anonymous",
    "resident",
    "other_resident",
    "proxy",
    "driver_assigned",
    "driver_other",
    "coordinator",
    "coordinator_other",
    "analyst",
    "analyst_other",
    "staff",
]

# What only the people who may see a resident's rides and bookings may read.
RESIDENT_NAME = "Anna Eriksson"
RESIDENT_PHONE = "+46701740620"
PICKUP_ADDRESS = "Järnvägsgatan 4, Vansbro"
DOOR_CODE = "Portkod 1234"
KEY_CODE = "Nyckelskåp vid affären, kod 1234"
ELSEWHERE_DRIVER = "Bertil Malmström"
CLAIM_EXPLANATION = "Omväg via Nås, vägen vid Järna var avstängd."
SHOP = Point(14.2300, 60.5110, srid=4326)
HOME = Point(14.2600, 60.5200, srid=4326)


@dataclass
class World:
    municipality: Municipality
    other_municipality: Municipality
    a: Association
    b: Association
    people: dict[str, User]
    drivers: dict[str, DriverProfile]
    objects: dict[str, object] = field(default_factory=dict)

    def pk(self, key: str) -> int:
        return self.objects[key].pk


def png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return SimpleUploadedFile("bild.png", out.getvalue(), content_type="image/png")


def _person(name: str, phone: str, association=None, roles=(), **extra) -> User:
    user = UserFactory(full_name=name, phone=phone, **extra)
    if association is not None:
        MembershipFactory(user=user, association=association, roles=[Role.MEMBER, *roles])
    return user


def _driver(association, name: str, phone: str) -> DriverProfile:
    user = _person(name, phone, association, [Role.DRIVER])
    profile = DriverProfileFactory(
        membership=Membership.objects.get(user=user, association=association),
        vehicle_description="Grå Volvo",
        seats=4,
    )
    for weekday in range(7):
        AvailabilitySlotFactory(driver=profile, weekday=weekday, start=dt.time(6), end=dt.time(20))
    return profile


def build_world() -> World:
    vansbro = MunicipalityFactory()
    malung = MunicipalityFactory(
        name="Malung-Sälen",
        code="2023",
        boundary=MultiPolygon(Polygon.from_bbox((12.5, 60.5, 13.4, 61.3)), srid=4326),
    )
    a = AssociationFactory(name="Västerdalarnas byaskjuts", municipality=vansbro)
    a.villages.add(VillageFactory(name="Vansbro", municipality=vansbro, location=VANSBRO))
    a.villages.add(VillageFactory(name="Dala-Järna", municipality=vansbro, location=DALA_JARNA))
    b = AssociationFactory(name="Malungs PRO", municipality=malung)

    resident = _person(
        RESIDENT_NAME, RESIDENT_PHONE, a, home_location=HOME, home_address="Annas väg 1"
    )
    coordinator = _person("Karin Lindqvist", "+46701740605", a, [Role.COORDINATOR])
    RiderApproval.objects.create(
        membership=Membership.objects.get(user=resident, association=a), approved_by=coordinator
    )
    proxy = _person("Lena Eriksson", "+46701740630")
    ProxyLink.objects.create(
        proxy=proxy, resident=resident, relationship="dotter", accepted_at=timezone.now()
    )
    drivers = {
        "driver_assigned": _driver(a, "Erik Olsson", "+46701740610"),
        "driver_other": _driver(a, "Olle Berg", "+46701740612"),
    }
    analyst = _person("Per Ek", "+46701740690")
    MunicipalityAnalyst.objects.create(user=analyst, municipality=vansbro)
    analyst_other = _person("Eva Ek", "+46701740691")
    MunicipalityAnalyst.objects.create(user=analyst_other, municipality=malung)
    people = {
        "resident": resident,
        "other_resident": _person(
            "Johan Persson", "+46701740621", a, home_location=HOME, home_address="Johans väg 2"
        ),
        "proxy": proxy,
        **{role: profile.membership.user for role, profile in drivers.items()},
        "coordinator": coordinator,
        "coordinator_other": _person("Maria Berg", "+46701740606", b, [Role.COORDINATOR]),
        "analyst": analyst,
        "analyst_other": analyst_other,
        "staff": _person("Sam Admin", "+46701740699", is_staff=True, is_superuser=True),
    }
    world = World(vansbro, malung, a, b, people, drivers)
    o = world.objects
    # A driver of the other association: nobody in A may learn who that is.
    o["driver_elsewhere"] = _driver(b, ELSEWHERE_DRIVER, "+46701740680")
    o["municipality"] = vansbro
    o["association"] = a
    o["membership"] = Membership.objects.get(user=people["other_resident"], association=a)
    o["proxy_link"] = ProxyLink.objects.get(proxy=proxy)
    # Someone outside every association whose e-mail address waits for its link to be
    # opened: the link's page answers whoever opens it, signed in or not.
    o["email_unconfirmed"] = UserFactory(
        full_name="Nils Nyman", phone="", email="nils.nyman@example.se", email_confirmed_at=None
    )

    # Volunteer rides: one held by the assigned driver, one open and offered to him.
    assigned = drivers["driver_assigned"]
    held = RideRequestFactory(
        rider=resident,
        association=a,
        earliest_pickup=next_weekday_at(1, 10),
        pickup_address=PICKUP_ADDRESS,
        note=DOOR_CODE,
    )
    held.state, held.driver = RideState.ACCEPTED, assigned
    held.planned_pickup = held.earliest_pickup
    held.busy = busy_range(held, held.earliest_pickup)
    held.save()
    Offer.objects.create(
        ride=held,
        driver=assigned,
        wave=1,
        rank=1,
        distance_m=1_500,
        pickup_at=held.earliest_pickup,
        state=OfferState.ACCEPTED,
    )
    open_ride = RideRequestFactory(
        rider=resident,
        association=a,
        state=RideState.OFFERING,
        earliest_pickup=next_weekday_at(3, 10),
        pickup_address=PICKUP_ADDRESS,
        note=DOOR_CODE,
    )
    o["ride"], o["open_ride"] = held, open_ride
    o["offer"] = Offer.objects.create(
        ride=open_ride,
        driver=assigned,
        wave=1,
        rank=1,
        distance_m=1_500,
        pickup_at=open_ride.earliest_pickup,
    )
    # A ride the assigned driver completed last week for another member, with kilometres
    # beyond what it can take waiting for a coordinator (the mileage page's decision).
    driven = RideRequestFactory(
        rider=_person("Karl Nilsson", "+46701740622", a),
        association=a,
        earliest_pickup=timezone.now() - dt.timedelta(days=7),
    )
    driven.state, driven.driver, driven.driven_m = RideState.COMPLETED, assigned, 77_000
    driven.planned_pickup = driven.earliest_pickup
    driven.busy = busy_range(driven, driven.earliest_pickup)
    driven.closed_at = driven.earliest_pickup + dt.timedelta(hours=1)
    driven.save()
    o["mileage_claim"] = MileageClaim.objects.create(
        ride=driven, claimed_m=125_000, allowed_m=77_000, explanation=CLAIM_EXPLANATION
    )
    o["plan"] = AssignmentPlan.objects.create(
        association=a, day=timezone.localdate() + dt.timedelta(days=1), total_km=0
    )
    # A day away of the assigned driver, far enough ahead to touch no ride or run.
    o["availability_exception"] = AvailabilityException.objects.create(
        driver=assigned, date=timezone.localdate() + dt.timedelta(days=20), kind="away"
    )

    # Shop runs: a weekly run, the resident signed up (once and standing), the assigned
    # driver's car on it, and an offer of the next run to him.
    day = timezone.localdate() + dt.timedelta(days=3)
    schedule = schedule_create(
        actor=coordinator,
        association=a,
        name="Torsdagshandling",
        rrule=f"FREQ=WEEKLY;BYDAY={['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][day.weekday()]}",
        starts_on=timezone.localdate(),
        arrive_at=dt.time(10, 0),
        leave_at=dt.time(11, 30),
        destination=SHOP,
        destination_name="ICA Nära Vansbro",
        deadline_time=dt.time(18, 0),
        village_ids=list(a.villages.values_list("pk", flat=True)),
        seats_per_vehicle=4,
        max_vehicles=2,
    )
    runs = list(RunOccurrence.objects.filter(schedule=schedule).order_by("arrive_at"))
    o["schedule"], o["run"] = schedule, runs[0]
    o["signup"] = signup_create(actor=resident, occurrence=runs[0], passenger=resident)
    signup_create(actor=resident, occurrence=runs[1], passenger=resident, standing=True)
    o["standing"] = StandingSignup.objects.get(passenger=resident)
    o["vehicle"] = vehicle_add(
        occurrence=runs[0], driver=assigned, actor=coordinator, by_coordinator=True
    )
    o["run_offer"] = RunOffer.objects.create(occurrence=runs[2], driver=assigned)
    o["later_run"] = runs[3]

    # Carpooling: the assigned driver's trip, the resident's booking on it, her search.
    trip = carpool.trip_publish(
        driver=assigned.membership.user,
        origin=WEST,
        origin_address="Storgatan 1, Väst",
        destination=EAST,
        destination_address="Torget 2, Öst",
        first_departure=next_weekday_at(0, 7, 0),
        rrule="FREQ=WEEKLY",
        seats=3,
    )
    departure, later = TripOccurrence.objects.filter(trip=trip).order_by("departure_at")[:2]
    o["trip"], o["departure"], o["later_departure"] = trip, departure, later
    o["carpool_booking"] = carpool_booking_request(
        actor=resident,
        passenger=resident,
        occurrence=departure,
        pickup=along(0.2),
        pickup_address=PICKUP_ADDRESS,
        dropoff=along(0.8),
        dropoff_address="Torget 2, Öst",
    )
    o["saved_search"] = saved_search_create(
        owner=resident,
        pickup=along(0.2),
        dropoff=along(0.8),
        earliest=dt.time(6),
        latest=dt.time(9),
        weekdays=[0, 1, 2, 3, 4],
    )

    # Shared things: the association's car, the resident's booking of it, a photo.
    car = ResourceFactory(
        association=a,
        kind=ResourceKind.CAR,
        category="car",
        title="Byabilen",
        approval_mode=ApprovalMode.MEMBERS,
        requires_clearance=False,
        seats=5,
        fuel="electric",
        odometer_km=12_000,
        key_location=KEY_CODE,
        pickup_instructions="Parkeringen bakom ICA",
        price_per_hour_ore=3_000,
        price_per_km_ore=150,
    )
    o["resource"] = car
    o["photo"] = resource_photo_add(actor=coordinator, resource=car, upload=png())
    starts = next_weekday_at(2, 10)
    o["sharing_booking"] = sharing_booking_request(
        actor=resident, resource=car, starts_at=starts, ends_at=starts + dt.timedelta(hours=2)
    )
    o["feed"] = CalendarFeed.objects.create(user=resident)
    # A trailer the resident lends herself (at home: where to fetch it is her address),
    # with the coordinator's request waiting for her answer and a photo.
    lent = ResourceFactory(
        association=a,
        owner=resident,
        title="Släpvagn att låna",
        category="trailer",
        approval_mode=ApprovalMode.OWNER,
        location=HOME,
        pickup_instructions="Annas väg 1, vid garaget",
    )
    o["lent_thing"] = lent
    o["lent_photo"] = resource_photo_add(actor=resident, resource=lent, upload=png())
    lent_starts = next_weekday_at(3, 10)
    o["lent_request"] = SharingBooking.objects.create(
        resource=lent,
        booker=coordinator,
        booked_by=coordinator,
        starts_at=lent_starts,
        ends_at=lent_starts + dt.timedelta(hours=2),
        blocked_until=lent_starts + dt.timedelta(hours=2),
        status=BookingStatus.REQUESTED,
    )

    o["notification"] = Notification.objects.filter(recipient=resident).first()
    assert isinstance(o["sharing_booking"], SharingBooking)
    assert isinstance(o["carpool_booking"], CarpoolBooking)
    assert isinstance(o["saved_search"], SavedSearch)
    assert isinstance(o["signup"], RunSignup) and isinstance(o["vehicle"], RunVehicle)
    assert RideRequest.objects.filter(rider=resident).count() == 2
    return world

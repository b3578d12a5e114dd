"""People and rides for the web page tests: association A with a rider, her daughter as
proxy, a neighbour, drivers and a coordinator; association B's coordinator; the
municipality's analyst. An open ride offered to one driver, and a ride another driver
has accepted."""

from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import ProxyLink, User
from backend.community.models import Association, Membership, MunicipalityAnalyst, Role
from backend.rides.models import (
    DriverProfile,
    Offer,
    OfferState,
    RideEvent,
    RiderApproval,
    RideRequest,
    RideState,
)
from backend.rides.services import busy_range
from tests.factories import (
    VANSBRO,
    AssociationFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
    next_weekday_at,
)
from tests.fakes.sms_provider import sms_provider  # noqa: F401 - the SMS tests' fixture
from tests.fakes.smtp_server import smtp_server  # noqa: F401 - the e-mail link tests' fixture

ROLES = [
    "rider",
    "proxy",
    "other_resident",
    "offered_driver",
    "holding_driver",
    "coordinator",
    "coordinator_elsewhere",
    "analyst",
    "anonymous",
]


def person(name: str, phone: str, association=None, roles=()) -> User:
    user = UserFactory(full_name=name, phone=phone, preferred_language="en")
    if association is not None:
        MembershipFactory(user=user, association=association, roles=[Role.MEMBER, *roles])
    return user


def driver_of(association, name: str, phone: str) -> DriverProfile:
    user = person(name, phone, association, [Role.DRIVER])
    profile = DriverProfileFactory(
        membership=Membership.objects.get(user=user, association=association),
        vehicle_description="Grå Volvo",
    )
    for weekday in range(7):
        AvailabilitySlotFactory(driver=profile, weekday=weekday)
    return profile


def offer(ride: RideRequest, driver: DriverProfile, state: str = OfferState.PENDING) -> Offer:
    return Offer.objects.create(
        ride=ride,
        driver=driver,
        wave=1,
        rank=1,
        distance_m=1_500,
        pickup_at=ride.earliest_pickup,
        state=state,
    )


@dataclass
class World:
    a: Association
    people: dict[str, User]
    drivers: dict[str, DriverProfile]
    open: RideRequest
    held: RideRequest

    def client(self, role: str) -> Client:
        # English pages: the tests read English texts.
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.cookies["django_language"] = "en"
        if role != "anonymous":
            client.force_login(self.people[role])
        return client


@pytest.fixture
def world(db, settings) -> World:
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    return build_world()


def build_world() -> World:
    a = AssociationFactory(name="Äppelbo byalag")
    a.villages.add(VillageFactory(name="Vansbro", municipality=a.municipality, location=VANSBRO))
    b = AssociationFactory(name="Dala-Järna PRO")
    rider = person("Anna Eriksson", "+46701740620", a)
    RiderApproval.objects.create(membership=Membership.objects.get(user=rider, association=a))
    proxy = person("Lena Eriksson", "+46701740630")
    ProxyLink.objects.create(
        proxy=proxy, resident=rider, relationship="dotter", accepted_at=timezone.now()
    )
    drivers = {
        "offered_driver": driver_of(a, "Sven Holm", "+46701740611"),
        "holding_driver": driver_of(a, "Erik Olsson", "+46701740610"),
    }
    analyst = person("Per Ek", "+46701740690")
    MunicipalityAnalyst.objects.create(user=analyst, municipality=a.municipality)
    people = {
        "rider": rider,
        "proxy": proxy,
        "other_resident": person("Johan Persson", "+46701740621", a),
        **{role: profile.membership.user for role, profile in drivers.items()},
        "coordinator": person("Karin Lindqvist", "+46701740605", a, [Role.COORDINATOR]),
        "coordinator_elsewhere": person("Maria Berg", "+46701740606", b, [Role.COORDINATOR]),
        "analyst": analyst,
    }
    open_ride = RideRequestFactory(
        rider=rider, association=a, state=RideState.OFFERING, note="Portkod 1234"
    )
    offer(open_ride, drivers["offered_driver"])
    held = RideRequestFactory(
        rider=rider,
        association=a,
        earliest_pickup=next_weekday_at(1, 10),
        note="Portkod 1234",
    )
    held.state, held.driver = RideState.ACCEPTED, drivers["holding_driver"]
    held.planned_pickup = held.earliest_pickup
    held.busy = busy_range(held, held.earliest_pickup)
    held.save()
    offer(held, drivers["holding_driver"], OfferState.ACCEPTED)
    return World(a=a, people=people, drivers=drivers, open=open_ride, held=held)


def snapshot() -> list[tuple]:
    """Everything a refused request must leave as it was."""
    rides = RideRequest.objects.order_by("pk").values_list(
        "pk", "state", "driver_id", "busy", "pickup_address"
    )
    offers = Offer.objects.order_by("pk").values_list("pk", "state")
    return [*rides, *offers, ("events", RideEvent.objects.count())]

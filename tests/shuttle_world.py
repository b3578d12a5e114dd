"""A shop run world for tests: an association serving two villages, its coordinator,
residents at home (one managed, with her daughter as proxy), drivers free on the run's
weekday, and a weekly run three days from now (so sign-up is open)."""

import datetime
from dataclasses import dataclass, field

from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.accounts.models import ProxyLink, User
from backend.community.models import Association, Membership, Role, Village
from backend.rides.models import AvailabilitySlot, DriverProfile
from backend.shuttle.models import RunOccurrence, RunSchedule
from backend.shuttle.services import schedule_create
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    ManagedProfileFactory,
    MembershipFactory,
    UserFactory,
    VillageFactory,
)

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
SHOP = Point(14.2300, 60.5110, srid=4326)  # ICA in Vansbro
# Homes around Vansbro and Dala-Järna, a few km apart.
HOMES = [
    Point(14.2600, 60.5200, srid=4326),
    Point(14.1900, 60.5000, srid=4326),
    Point(14.3000, 60.5300, srid=4326),
    Point(14.3500, 60.5400, srid=4326),
    Point(14.2100, 60.5350, srid=4326),
    Point(14.3700, 60.5250, srid=4326),
    Point(14.2450, 60.4950, srid=4326),
    Point(14.3300, 60.5150, srid=4326),
    Point(14.2800, 60.5050, srid=4326),
    Point(14.1700, 60.5200, srid=4326),
]


def person(name: str, phone: str, association=None, roles=(), home=None) -> User:
    user = UserFactory(
        full_name=name,
        phone=phone,
        home_location=home,
        home_address=f"{name.split()[0]}s väg 1" if home else "",
    )
    if association is not None:
        MembershipFactory(user=user, association=association, roles=[Role.MEMBER, *roles])
    return user


def driver_of(
    association, name: str, phone: str, weekday: int, *, seats=4, home=VANSBRO, wheelchair=False
):
    user = person(name, phone, association, [Role.DRIVER], home=home)
    profile = DriverProfile.objects.create(
        membership=Membership.objects.get(user=user, association=association),
        home_base=home,
        seats=seats,
        wheelchair_accessible=wheelchair,
        vehicle_description=f"{name.split()[0]}s bil",
    )
    AvailabilitySlot.objects.create(
        driver=profile, weekday=weekday, start=datetime.time(7, 0), end=datetime.time(15, 0)
    )
    return profile


@dataclass
class World:
    association: Association
    villages: list[Village]
    coordinator: User
    residents: list[User]
    managed: User
    daughter: User
    drivers: list[DriverProfile]
    schedule: RunSchedule
    other_association: Association
    outsider: User
    extra: dict = field(default_factory=dict)

    @property
    def occurrence(self) -> RunOccurrence:
        """The first occurrence: three days ahead, sign-up open."""
        return self.schedule.occurrences.order_by("arrive_at").first()

    def driver_user(self, index: int = 0) -> User:
        return self.drivers[index].membership.user


def run_day(days: int = 3) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def make_world(*, seats_per_vehicle: int = 4, max_vehicles: int = 2, residents: int = 6) -> World:
    association = AssociationFactory(name="Västerdalarnas byaskjuts")
    vansbro = VillageFactory(
        name="Vansbro", municipality=association.municipality, location=VANSBRO
    )
    jarna = VillageFactory(
        name="Dala-Järna", municipality=association.municipality, location=DALA_JARNA
    )
    association.villages.add(vansbro, jarna)
    coordinator = person("Karin Lindqvist", "+46701740605", association, [Role.COORDINATOR])
    people = [
        person(f"Boende {i} Svensson", f"+4670175{i:04d}", association, home=HOMES[i])
        for i in range(residents)
    ]
    managed = ManagedProfileFactory(
        full_name="Greta Andersson", home_location=HOMES[-1], home_address="Gretas väg 9"
    )
    MembershipFactory(user=managed, association=association)
    daughter = person("Lena Andersson", "+46701749999")
    ProxyLink.objects.create(
        proxy=daughter,
        resident=managed,
        relationship="dotter",
        receives_sms_for_resident=True,
        accepted_at=timezone.now(),
    )
    day = run_day()
    weekday = day.weekday()
    drivers = [
        driver_of(association, "Erik Olsson", "+46701740610", weekday),
        driver_of(
            association, "Maria Berg", "+46701740611", weekday, home=DALA_JARNA, wheelchair=True
        ),
    ]
    schedule = schedule_create(
        actor=coordinator,
        association=association,
        name="Torsdagshandling",
        rrule=f"FREQ=WEEKLY;BYDAY={WEEKDAYS[weekday]}",
        starts_on=timezone.localdate(),
        arrive_at=datetime.time(10, 0),
        leave_at=datetime.time(11, 30),
        destination=SHOP,
        destination_name="ICA Nära Vansbro",
        deadline_time=datetime.time(18, 0),
        village_ids=[vansbro.pk, jarna.pk],
        seats_per_vehicle=seats_per_vehicle,
        max_vehicles=max_vehicles,
    )
    other = AssociationFactory(name="Äppelbo byalag")
    outsider = person("Olle Utanför", "+46701748888", other, home=HOMES[0])
    return World(
        association=association,
        villages=[vansbro, jarna],
        coordinator=coordinator,
        residents=people,
        managed=managed,
        daughter=daughter,
        drivers=drivers,
        schedule=schedule,
        other_association=other,
        outsider=outsider,
    )

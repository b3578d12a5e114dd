"""A small, hand-built world for the statistics tests, with every answer known.

Municipality A (Vansbro) has three villages and two associations: "Byaskjutsen" serves
Vansbro and Dala-Järna, "PRO Äppelbo" serves Äppelbo. Municipality B (Leksand) has one
ride of its own, which must never show up in A's figures. All rides are in January and
February 2026 at 10:00 local time; a ride is asked for two days before.

| village | person (born, managed) | ride | outcome | pass | km trip/driven | accept | volunteer |
|---|---|---|---|---|---|---|---|
| Vansbro | P1 (1940, managed) | 10 Jan | completed | 1 | 10 / 12 | 10 min | 40 min (en route) |
| Vansbro | P1 | 3 Feb | completed | 2 | 5 / 5 | 30 min | 15 min (planned) |
| Vansbro | P2 (1950) | 12 Jan | completed | 1 | 20 / 20 | 20 min | 60 min |
| Vansbro | P3 (1990) | 15 Jan | unfulfilled (at X) | | | | |
| Vansbro | P4 (1955, managed) | 20 Jan | cancelled | | | | |
| Vansbro | P5 (1962) | 10 Feb | completed | 1 | 8 / 10 | 60 min | 60 min |
| Vansbro | P6 (unknown) | 12 Feb | no-show | | | 5 min | |
| Dala-Järna | P7 (1945) | 11 Jan | completed | 1 | 15 / 15 | 15 min | 40 min |
| Dala-Järna | P8 (1962) | 16 Jan | unfulfilled (at X) | | | | |
| Dala-Järna | P9 (1961) | 5 Feb | completed | 1 | 6 / 6 | 45 min | 15 min (planned) |
| Äppelbo | P10 (1950), P11-14 (1985) | 21-25 Jan | completed | 1 each | 10 / 10 | 25 min | 40 min |

Elderly means 65 or older in 2026: born 1961 or before (P9 is, P5 and P8 are not).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from backend.accounts.models import User
from backend.community.models import Association, Municipality, MunicipalityAnalyst, Village
from backend.rides.models import RideEvent, RideRequest
from tests.factories import (
    STOCKHOLM,
    VANSBRO,
    AssociationFactory,
    DriverProfileFactory,
    ManagedProfileFactory,
    MunicipalityFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
)

X = VANSBRO  # where the two unserved requests were picked up
DALA_JARNA = Point(14.36667, 60.53333, srid=4326)
APPELBO = Point(14.0, 60.4833, srid=4326)
LEKSAND = Point(14.9994, 60.7305, srid=4326)


@dataclass
class World:
    a: Municipality
    b: Municipality
    vansbro: Village
    dala_jarna: Village
    appelbo: Village
    byaskjutsen: Association
    pro: Association
    analyst_a: User
    analyst_b: User
    people: dict[str, User] = field(default_factory=dict)
    drivers: dict = field(default_factory=dict)


def pickup(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, 0, tzinfo=STOCKHOLM)


def add_ride(
    world: World,
    person: str,
    association: Association,
    village: Village,
    when: dt.datetime,
    state: str,
    *,
    passengers: int = 1,
    trip_km: int = 10,
    driven_km: int | None = None,
    accept_min: int | None = None,
    en_route_min: int | None = None,
    closed_min: int = 20,
    point: Point = X,
) -> RideRequest:
    """A ride as the services leave it, with its events (request, acceptance, en route,
    close)."""
    created = when - dt.timedelta(days=2)
    accepted = created + dt.timedelta(minutes=accept_min) if accept_min is not None else None
    driver = world.drivers[association.pk] if state in {"completed", "no_show"} else None
    closed = when + dt.timedelta(minutes=closed_min)
    ride = RideRequestFactory(
        rider=world.people[person],
        association=association,
        village=village,
        pickup=point,
        earliest_pickup=when,
        latest_pickup=when,
        passengers=passengers,
        distance_m=trip_km * 1000,
        duration_s=600,
        state=state,
        driver=driver,
        planned_pickup=when if driver else None,
        busy=DateTimeTZRange(when, when + dt.timedelta(minutes=15))
        if state == "completed"
        else None,
        created_at=created,
        accepted_at=accepted,
        closed_at=closed,
        driven_m=driven_km * 1000 if driven_km else None,
    )
    events = [("", "requested", created)]
    if accepted:
        events.append(("offering", "accepted", accepted))
    if en_route_min is not None:
        events.append(("accepted", "en_route", when - dt.timedelta(minutes=en_route_min)))
    events.append(("", state, closed))
    RideEvent.objects.bulk_create(
        RideEvent(ride=ride, from_state=old, to_state=new, at=at) for old, new, at in events
    )
    return ride


def build_world() -> World:
    a = MunicipalityFactory()
    b = MunicipalityFactory(
        name="Leksand",
        code="2029",
        boundary=MultiPolygon(Polygon.from_bbox((14.7, 60.6, 15.3, 61.0)), srid=4326),
    )
    vansbro = VillageFactory(name="Vansbro", municipality=a, location=VANSBRO)
    dala_jarna = VillageFactory(name="Dala-Järna", municipality=a, location=DALA_JARNA)
    appelbo = VillageFactory(name="Äppelbo", municipality=a, location=APPELBO)
    byaskjutsen = AssociationFactory(name="Byaskjutsen", municipality=a)
    byaskjutsen.villages.add(vansbro, dala_jarna)
    pro = AssociationFactory(name="PRO Äppelbo", municipality=a)
    pro.villages.add(appelbo)
    analyst_a = UserFactory(full_name="Helena Ström")
    analyst_b = UserFactory(full_name="Bo Leksell")
    MunicipalityAnalyst.objects.create(user=analyst_a, municipality=a)
    MunicipalityAnalyst.objects.create(user=analyst_b, municipality=b)
    world = World(a, b, vansbro, dala_jarna, appelbo, byaskjutsen, pro, analyst_a, analyst_b)
    world.drivers = {
        association.pk: DriverProfileFactory(membership__association=association)
        for association in (byaskjutsen, pro)
    }
    born = {"P1": 1940, "P2": 1950, "P3": 1990, "P4": 1955, "P5": 1962, "P6": None}
    born |= {"P7": 1945, "P8": 1962, "P9": 1961, "P10": 1950}
    born |= {f"P{n}": 1985 for n in range(11, 15)}
    for name, year in born.items():
        factory = ManagedProfileFactory if name in {"P1", "P4"} else UserFactory
        world.people[name] = factory(full_name=name, birth_year=year)

    v, d, ap, bs = vansbro, dala_jarna, appelbo, byaskjutsen
    add_ride(world, "P1", bs, v, pickup(1, 10), "completed", trip_km=10, driven_km=12,
             accept_min=10, en_route_min=10, closed_min=30)  # fmt: skip
    add_ride(world, "P1", bs, v, pickup(2, 3), "completed", passengers=2, trip_km=5,
             driven_km=5, accept_min=30)  # fmt: skip
    add_ride(world, "P2", bs, v, pickup(1, 12), "completed", trip_km=20, driven_km=20,
             accept_min=20, en_route_min=15, closed_min=45)  # fmt: skip
    add_ride(world, "P3", bs, v, pickup(1, 15), "unfulfilled")
    add_ride(world, "P4", bs, v, pickup(1, 20), "cancelled")
    add_ride(world, "P5", bs, v, pickup(2, 10), "completed", trip_km=8, driven_km=10,
             accept_min=60, en_route_min=30, closed_min=30)  # fmt: skip
    add_ride(world, "P6", bs, v, pickup(2, 12), "no_show", accept_min=5)
    add_ride(world, "P7", bs, d, pickup(1, 11), "completed", trip_km=15, driven_km=15,
             accept_min=15, en_route_min=20, closed_min=20)  # fmt: skip
    add_ride(world, "P8", bs, d, pickup(1, 16), "unfulfilled")
    add_ride(world, "P9", bs, d, pickup(2, 5), "completed", trip_km=6, accept_min=45)
    for n in range(10, 15):
        add_ride(world, f"P{n}", pro, ap, pickup(1, 11 + n), "completed", trip_km=10,
                 driven_km=10, accept_min=25, en_route_min=20, closed_min=20)  # fmt: skip

    # Municipality B: one association, one village, one completed ride.
    leksand = VillageFactory(name="Leksand", municipality=b, location=LEKSAND)
    leksand_association = AssociationFactory(name="Leksands byaskjuts", municipality=b)
    world.drivers[leksand_association.pk] = DriverProfileFactory(
        membership__association=leksand_association, home_base=LEKSAND
    )
    world.people["Q1"] = UserFactory(full_name="Q1", birth_year=1944)
    add_ride(world, "Q1", leksand_association, leksand, pickup(1, 10), "completed",
             trip_km=30, driven_km=30, accept_min=5, point=LEKSAND)  # fmt: skip
    return world

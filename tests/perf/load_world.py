"""The people and things of the load test, written into the database DATABASE_URL names
by a separate process: `python -m tests.perf.load_world --associations 6 ...`. Prints
what the load generator needs (tokens, session keys, ids, places) as JSON on stdout.

Each association has its own municipality (a box about 45 x 65 km), four villages, one
coordinator, volunteer drivers free every day 06-22 around the villages, approved
residents with a history of completed rides and some rides ahead, carpool commutes
between its villages (weekdays, published through the service, so departures and route
legs are real) and shared things anyone may book. Users are written in bulk with an
unusable password (hashing thousands of passwords would take minutes); the generator
signs in with API tokens and, for the web pages, with session keys made here.

Everything is seeded: the same sizes give the same data.
"""

import argparse
import datetime as dt
import json
import os
import random
from importlib import import_module

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.gis.geos import MultiPolygon, Point, Polygon  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.carpool.models import Trip, TripOccurrence  # noqa: E402
from backend.carpool.services import trip_publish  # noqa: E402
from backend.community.models import (  # noqa: E402
    Association,
    Membership,
    MembershipState,
    Municipality,
    Role,
    Village,
)
from backend.rides.availability import availability_windows_roll  # noqa: E402
from backend.rides.models import (  # noqa: E402
    AvailabilityHorizon,
    AvailabilitySlot,
    DriverProfile,
    RiderApproval,
    RideRequest,
    RideState,
    TimeKind,
)
from backend.sharing.models import ApprovalMode, Resource, ResourceKind  # noqa: E402

KM_PER_DEGREE = 111.32
PASSWORD = "!load-test"  # unusable: nobody signs in with a password
THINGS = [
    (ResourceKind.TOOL, "trailer", "Släpvagn 750 kg"),
    (ResourceKind.TOOL, "wood splitter", "Vedklyv 8 ton"),
    (ResourceKind.TOOL, "lawn mower", "Åkgräsklippare"),
    (ResourceKind.ROOM, "hall", "Bygdegården"),
    (ResourceKind.TOOL, "pressure washer", "Högtryckstvätt"),
    (ResourceKind.TOOL, "ladder", "Stege 7 m"),
]


def _near(rng: random.Random, point: Point, sigma_km: float) -> Point:
    north = rng.gauss(0, sigma_km) / KM_PER_DEGREE
    east = rng.gauss(0, sigma_km) / (KM_PER_DEGREE * 0.5)  # cos(60°)
    return Point(point.x + east, point.y + north, srid=4326)


def _lonlat(point: Point) -> list[float]:
    return [round(point.x, 6), round(point.y, 6)]


def signed_in_session(user: User) -> str:
    """A signed-in session, as django.contrib.auth.login leaves it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _users(prefix: str, count: int, serial: list[int]) -> list[User]:
    users = []
    for n in range(count):
        serial[0] += 1
        users.append(
            User(
                full_name=f"{prefix} {n + 1}",
                phone=f"+4673{serial[0]:07d}",
                phone_confirmed_at=timezone.now(),
                password=PASSWORD,
                preferred_language="sv",
                contact_by_sms=False,  # live and inbox only: no SMS queue to drain
                contact_by_push=False,
            )
        )
    return User.objects.bulk_create(users)


@transaction.atomic
def build(args: argparse.Namespace) -> dict:
    rng = random.Random(20261129)
    now = timezone.now()
    today = timezone.localdate()
    serial = [0]
    out: dict = {"associations": []}
    for a in range(args.associations):
        centre = Point(12.8 + 1.0 * a, 60.6 + 0.2 * (a % 2), srid=4326)
        box = (centre.x - 0.4, centre.y - 0.3, centre.x + 0.4, centre.y + 0.3)
        municipality = Municipality.objects.create(
            name=f"Lastkommun {a + 1}",
            code=f"{8100 + a}",
            boundary=MultiPolygon(Polygon.from_bbox(box), srid=4326),
        )
        association = Association.objects.create(
            name=f"Lastbyalaget {a + 1}", municipality=municipality
        )
        villages = [
            Village.objects.create(
                name=f"By {a + 1}-{v + 1}",
                municipality=municipality,
                location=Point(centre.x + dx, centre.y + dy, srid=4326),
            )
            for v, (dx, dy) in enumerate([(-0.2, -0.1), (0.2, -0.1), (-0.2, 0.12), (0.2, 0.12)])
        ]
        association.villages.add(*villages)

        (coordinator,) = _users(f"Samordnare {a + 1}", 1, serial)
        drivers = _users(f"Förare {a + 1}", args.drivers, serial)
        residents = _users(f"Boende {a + 1}", args.residents, serial)
        memberships = Membership.objects.bulk_create(
            [
                Membership(
                    user=coordinator,
                    association=association,
                    roles=[Role.MEMBER, Role.COORDINATOR],
                    state=MembershipState.ACTIVE,
                )
            ]
            + [
                Membership(
                    user=u,
                    association=association,
                    roles=[Role.MEMBER, Role.DRIVER],
                    state=MembershipState.ACTIVE,
                )
                for u in drivers
            ]
            + [
                Membership(
                    user=u,
                    association=association,
                    roles=[Role.MEMBER],
                    state=MembershipState.ACTIVE,
                )
                for u in residents
            ]
        )
        driver_memberships = memberships[1 : 1 + len(drivers)]
        resident_memberships = memberships[1 + len(drivers) :]
        profiles = DriverProfile.objects.bulk_create(
            [
                DriverProfile(
                    membership=m,
                    association=association,
                    home_base=_near(rng, rng.choice(villages).location, 4.0),
                    service_radius_m=rng.randint(25, 40) * 1000,
                    seats=rng.choice((2, 3, 3, 4)),
                )
                for m in driver_memberships
            ]
        )
        AvailabilitySlot.objects.bulk_create(
            [
                AvailabilitySlot(driver=p, weekday=day, start=dt.time(6), end=dt.time(22))
                for p in profiles
                for day in range(7)
            ]
        )
        RiderApproval.objects.bulk_create(
            [RiderApproval(membership=m, approved_by=coordinator) for m in resident_memberships]
        )
        homes = {u.pk: _near(rng, rng.choice(villages).location, 2.0) for u in residents}

        # Ride history: completed rides in the last months, each driver's one after the
        # other (a driver is never in two rides at once), and some accepted ones ahead.
        rides = []
        for n in range(args.rides):
            rider = residents[n % len(residents)]
            profile = profiles[n % len(profiles)]
            turn = n // len(profiles)
            ahead = n % 10 == 0
            if ahead:
                day = today + dt.timedelta(days=1 + turn % 13)
                start = timezone.make_aware(
                    dt.datetime.combine(day, dt.time(8 + turn % 9, 5 * (n % 12)))
                )
            else:
                start = now - dt.timedelta(days=1 + turn % 120, hours=turn % 5, minutes=n % 50)
            end = start + dt.timedelta(minutes=40)
            state = RideState.ACCEPTED if ahead else RideState.COMPLETED
            rides.append(
                RideRequest(
                    association=association,
                    rider=rider,
                    requested_by=rider,
                    driver=profile,
                    pickup=homes[rider.pk],
                    pickup_address="Byvägen 1",
                    destination=villages[(n + 1) % 4].location,
                    destination_address="Vårdcentralen",
                    time_kind=TimeKind.PICKUP_AT,
                    earliest_pickup=start,
                    latest_pickup=start,
                    planned_pickup=start,
                    busy=DateTimeTZRange(start, end),
                    distance_m=12_000,
                    duration_s=1_200,
                    state=state,
                    wave=1,
                    accepted_at=start - dt.timedelta(hours=20),
                    closed_at=None if ahead else end,
                )
            )
        # Completed rides of one driver never overlap because their days differ
        # (turn % 120); ahead, turn % 13 and turn % 9 keep them apart likewise.
        RideRequest.objects.bulk_create(rides, batch_size=2000)

        # Carpool commutes between the villages, weekdays, published like the app does.
        occurrences = []
        for t in range(args.trips):
            driver = drivers[t % len(drivers)]
            origin, destination = villages[t % 4], villages[(t + 1) % 4]
            monday = today + dt.timedelta(days=7 - today.weekday())
            first = timezone.make_aware(
                dt.datetime.combine(monday, dt.time(6 + t % 4, 10 * (t % 6)))
            )
            trip = trip_publish(
                driver=driver,
                association=association,
                origin=origin.location,
                origin_address=origin.name,
                destination=destination.location,
                destination_address=destination.name,
                first_departure=first,
                rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                seats=3,
                instant_booking=t % 2 == 0,
            )
            for occurrence in TripOccurrence.objects.filter(trip=trip).order_by("departure_at")[
                :10
            ]:
                occurrences.append(
                    {
                        "id": occurrence.pk,
                        "at": occurrence.departure_at.isoformat(),
                        "pickup": _lonlat(_near(rng, origin.location, 0.2)),
                        "dropoff": _lonlat(_near(rng, destination.location, 0.2)),
                    }
                )
        resources = Resource.objects.bulk_create(
            [
                Resource(
                    association=association,
                    kind=kind,
                    category=category,
                    title=f"{title} ({villages[i % 4].name})",
                    description="Finns att låna för alla i föreningen.",
                    location=villages[i % 4].location,
                    approval_mode=ApprovalMode.AUTOMATIC,
                    min_minutes=60,
                )
                for i, (kind, category, title) in enumerate(THINGS[: args.things])
            ]
        )
        tokens = {
            t.user_id: t.key
            for t in Token.objects.bulk_create(
                [
                    Token(user=u, key=Token.generate_key())
                    for u in [coordinator, *drivers, *residents]
                ]
            )
        }
        out["associations"].append(
            {
                "id": association.pk,
                "members": 1 + len(drivers) + len(residents),
                "villages": [_lonlat(v.location) for v in villages],
                "coordinator": {
                    "id": coordinator.pk,
                    "token": tokens[coordinator.pk],
                    "session": signed_in_session(coordinator),
                },
                "drivers": [{"id": u.pk, "token": tokens[u.pk]} for u in drivers],
                "residents": [
                    {
                        "id": u.pk,
                        "token": tokens[u.pk],
                        "session": signed_in_session(u) if i < args.sessions else "",
                        "home": _lonlat(homes[u.pk]),
                    }
                    for i, u in enumerate(residents)
                ],
                "occurrences": occurrences,
                "resources": [r.pk for r in resources],
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--associations", type=int, default=6)
    parser.add_argument("--drivers", type=int, default=80, help="per association")
    parser.add_argument("--residents", type=int, default=100, help="per association")
    parser.add_argument("--sessions", type=int, default=40, help="signed-in browsers each")
    parser.add_argument("--rides", type=int, default=600, help="per association")
    parser.add_argument("--trips", type=int, default=12, help="carpool trips each")
    parser.add_argument("--things", type=int, default=len(THINGS), help="shared things each")
    print(json.dumps(seed(parser.parse_args())))


def seed(args: argparse.Namespace) -> dict:
    """`build`, then what the nightly tasks and autovacuum would have done by now."""
    world = build(args)
    # The drivers' availability windows for the horizon, as the nightly task builds them.
    AvailabilityHorizon.objects.filter(pk=1).delete()
    availability_windows_roll()
    with connection.cursor() as cursor:
        # Statistics for the planner, as autovacuum would have them by now.
        cursor.execute("ANALYZE")
    world["counts"] = {
        "users": User.objects.count(),
        "drivers": DriverProfile.objects.count(),
        "rides": RideRequest.objects.count(),
        "trips": Trip.objects.count(),
        "departures": TripOccurrence.objects.count(),
        "things": Resource.objects.count(),
    }
    return world


if __name__ == "__main__":
    main()

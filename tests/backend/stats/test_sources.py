"""The carpool, shop-run and shared-things sources against a hand-built data set with
known answers (rows as the services leave them), then as published by service.

Municipality with Vansbro and Dala-Järna, one association serving both, all in January
2026 (local dates):

Carpool, trip Vansbro -> east, 40 km:
| booking | person | departure | seats | part ridden | state | answered after |
|---|---|---|---|---|---|---|
| B1 | C1 | 12 Jan, completed | 2 | 0 -> 0.5 | confirmed | 10 min |
| B2 | C2 | 12 Jan, completed | 1 | 0.25 -> 1 | confirmed | 30 min |
| B3 | C3 | 12 Jan, completed | 1 | 0 -> 1 | declined | |
| B4 | C4 | 12 Jan, completed | 1 | 0 -> 1 | cancelled by the passenger | |
| B5 | C5 | 14 Jan, cancelled | 1 | 0 -> 1 | confirmed | |

Shop run to the shop in Vansbro, 13 Jan (done; one car, 30 km planned, busy 2 h) and
20 Jan (cancelled): S1 picked up (1 seat), S2 picked up (2 seats), S3 not home, S4
cancelled, S5 still waitlisted when the run left; S6 signed up to the cancelled run.

Shared things: the car at Dala-Järna: K1 returned (out 3.5 h, 42 km), K2 returned (2 h,
10 km, approved after 20 min), K3 declined; a tool in Vansbro: L1 returned (24 h), L2
cancelled; the hall: M1 confirmed for later.
"""

import datetime as dt

import pytest
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import LineString, Point
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Sum
from django.utils import translation

from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import Trip, TripOccurrence
from backend.sharing.models import Booking, ResourceKind
from backend.shuttle.models import RunOccurrence, RunSchedule, RunSignup, RunVehicle
from backend.stats.models import DailyFigures
from backend.stats.refresh import stats_refresh
from backend.stats.selectors import stats_query, stats_table
from tests.factories import (
    STOCKHOLM,
    VANSBRO,
    AssociationFactory,
    DriverProfileFactory,
    MunicipalityFactory,
    UserFactory,
    VillageFactory,
)
from tests.sharing_fixtures import ResourceFactory
from tests.stats_data import DALA_JARNA

pytestmark = pytest.mark.django_db

EAST = Point(VANSBRO.x + 0.7, VANSBRO.y, srid=4326)


def at(day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=STOCKHOLM)


@pytest.fixture
def place():
    municipality = MunicipalityFactory()
    vansbro = VillageFactory(name="Vansbro", municipality=municipality, location=VANSBRO)
    dala_jarna = VillageFactory(name="Dala-Järna", municipality=municipality, location=DALA_JARNA)
    association = AssociationFactory(name="Byalaget", municipality=municipality)
    association.villages.add(vansbro, dala_jarna)
    return municipality, association, vansbro, dala_jarna


def people(prefix: str, n: int) -> list:
    return [UserFactory(full_name=f"{prefix}{i}", birth_year=1950) for i in range(1, n + 1)]


def build_carpool(association, vansbro) -> None:
    c = people("C", 5)
    trip = Trip.objects.create(
        driver=UserFactory(),
        association=association,
        origin=VANSBRO,
        origin_address="Vansbro",
        origin_village=vansbro,
        destination=EAST,
        destination_address="Öster",
        route=LineString(VANSBRO, EAST, srid=4326),
        distance_m=40_000,
        duration_s=2400,
        first_departure=at(12, 7),
        seats=4,
        price_ore=2000,
        max_price_ore=5000,
    )

    def departure(day: int, status: str, taken: int) -> TripOccurrence:
        return TripOccurrence.objects.create(
            trip=trip,
            departure_at=at(day, 7),
            span=DateTimeTZRange(at(day, 7), at(day, 8)),
            route=trip.route,
            seats_total=4,
            seats_taken=taken,
            status=status,
        )

    done, cancelled = departure(12, "completed", 3), departure(14, "cancelled", 1)

    def book(occurrence, person, seats, start, end, state, answered_min=None, by=""):
        created = occurrence.departure_at - dt.timedelta(days=1)
        SeatBooking.objects.create(
            occurrence=occurrence,
            passenger=person,
            booked_by=person,
            seats=seats,
            pickup=VANSBRO,
            pickup_address="a",
            dropoff=EAST,
            dropoff_address="b",
            pickup_fraction=start,
            dropoff_fraction=end,
            pickup_at=occurrence.departure_at,
            dropoff_at=occurrence.departure_at + dt.timedelta(minutes=30),
            price_ore=0,
            state=state,
            cancelled_by=by,
            created_at=created,
            answered_at=created + dt.timedelta(minutes=answered_min) if answered_min else None,
        )

    book(done, c[0], 2, 0, 0.5, "confirmed", 10)
    book(done, c[1], 1, 0.25, 1, "confirmed", 30)
    book(done, c[2], 1, 0, 1, "declined")
    book(done, c[3], 1, 0, 1, "cancelled", by="passenger")
    book(cancelled, c[4], 1, 0, 1, "confirmed")


def build_shuttle(association) -> list[RunSignup]:
    s = people("S", 6)
    schedule = RunSchedule.objects.create(
        association=association,
        name="Handla",
        rrule="FREQ=WEEKLY",
        starts_on=dt.date(2026, 1, 1),
        arrive_at=dt.time(10),
        leave_at=dt.time(11),
        destination=VANSBRO,
        destination_name="ICA",
        deadline_time=dt.time(18),
    )

    def run(day: int, state: str) -> RunOccurrence:
        return RunOccurrence.objects.create(
            schedule=schedule,
            association=association,
            rule_date=dt.date(2026, 1, day),
            arrive_at=at(day, 10),
            leave_at=at(day, 11),
            signup_deadline=at(day - 1, 18),
            capacity=4,
            state=state,
        )

    done, cancelled = run(13, "done"), run(20, "cancelled")
    car = RunVehicle.objects.create(
        occurrence=done,
        driver=DriverProfileFactory(membership__association=association),
        seats=4,
        busy=DateTimeTZRange(at(13, 9), at(13, 11)),
        plan_km=30,
    )

    def sign(occurrence, person, north_m, seats, state, outcome="", vehicle=None):
        return RunSignup.objects.create(
            occurrence=occurrence,
            passenger=person,
            signed_up_by=person,
            pickup=Point(VANSBRO.x, VANSBRO.y + north_m / 111_320, srid=4326),
            pickup_address="x",
            seats=seats,
            state=state,
            outcome=outcome,
            vehicle=vehicle,
        )

    return [
        sign(done, s[0], 2000, 1, "confirmed", "picked_up", car),
        sign(done, s[1], 5000, 2, "confirmed", "picked_up", car),
        sign(done, s[2], 1000, 1, "confirmed", "not_home", car),
        sign(done, s[3], 1000, 1, "cancelled"),
        sign(done, s[4], 1000, 1, "waitlisted"),
        sign(cancelled, s[5], 1000, 1, "confirmed"),
    ]


def build_sharing(association) -> None:
    k = people("K", 3)
    car = ResourceFactory(
        association=association,
        kind=ResourceKind.CAR,
        category="car",
        title="Byabilen",
        location=DALA_JARNA,
        seats=5,
        fuel="electric",
        odometer_km=1000,
    )
    tool = ResourceFactory(association=association, kind=ResourceKind.TOOL, location=VANSBRO)
    hall = ResourceFactory(association=association, kind=ResourceKind.ROOM, location=VANSBRO)

    def loan(resource, person, day, hours, status, *, km=None, approve_min=None, out_h=None):
        starts = at(day)
        created = starts - dt.timedelta(days=2)
        out = starts if out_h else None
        Booking.objects.create(
            resource=resource,
            booker=person,
            booked_by=person,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=hours),
            blocked_until=starts + dt.timedelta(hours=hours),
            status=status,
            created_at=created,
            decided_at=created + dt.timedelta(minutes=approve_min) if approve_min else None,
            checked_out_at=out,
            returned_at=out + dt.timedelta(hours=out_h) if out_h else None,
            km_driven=km,
        )

    loan(car, k[0], 15, 4, "returned", km=42, out_h=3.5)
    loan(car, k[1], 16, 2, "returned", km=10, approve_min=20, out_h=2)
    loan(car, k[2], 17, 2, "declined")
    loan(tool, k[0], 18, 24, "returned", out_h=24)
    loan(tool, k[1], 19, 24, "cancelled")
    loan(hall, k[2], 25, 4, "confirmed")


def totals(service: str, **filters) -> dict:
    return DailyFigures.objects.filter(service=service, **filters).aggregate(
        requests=Sum("requests"),
        fulfilled=Sum("fulfilled"),
        unfulfilled=Sum("unfulfilled"),
        cancelled=Sum("cancelled"),
        no_show=Sum("no_show"),
        passengers=Sum("passengers"),
        vehicle_m=Sum("vehicle_m"),
        passenger_m=Sum("passenger_m"),
        volunteer_s=Sum("volunteer_s"),
        volunteer_m=Sum("volunteer_m"),
        usage_s=Sum("usage_s"),
    )


def test_carpool_figures(place):
    _, association, vansbro, _ = place
    build_carpool(association, vansbro)
    stats_refresh()
    assert totals("carpool") == {
        "requests": 5,
        "fulfilled": 2,  # B1, B2
        "unfulfilled": 2,  # B3 declined, B5 on a cancelled departure
        "cancelled": 1,
        "no_show": 0,
        "passengers": 3,  # seats filled: 2 + 1
        "vehicle_m": 40_000,  # the departure once, shared by its two bookings
        "passenger_m": 2 * 20_000 + 1 * 30_000,
        "volunteer_s": 0,
        "volunteer_m": 0,
        "usage_s": 0,
    }
    days = DailyFigures.objects.filter(service="carpool").order_by("day")
    assert [(row.day.day, row.village_id) for row in days] == [(12, vansbro.id), (14, vansbro.id)]
    assert sorted(days[0].accept_delays_s) == [600, 1800]


def test_shop_run_attendance(place):
    _, association, vansbro, _ = place
    signups = build_shuttle(association)
    stats_refresh()
    # Straight line from each pickup to the shop, as PostGIS measures it.
    metres = dict(RunSignup.objects.annotate(d=Distance("pickup", VANSBRO)).values_list("pk", "d"))
    there_and_back = 2 * (1 * metres[signups[0].pk].m + 2 * metres[signups[1].pk].m)
    figures = totals("shuttle")
    assert figures.pop("passenger_m") == pytest.approx(there_and_back, abs=2)
    assert figures == {
        "requests": 6,
        "fulfilled": 2,  # attendance: S1, S2
        "unfulfilled": 2,  # S5 left waiting, S6 on the cancelled run
        "cancelled": 1,
        "no_show": 1,
        "passengers": 3,
        "vehicle_m": 30_000,  # the car's planned km, once
        "volunteer_s": 2 * 3600,
        "volunteer_m": 30_000,
        "usage_s": 0,
    }
    assert set(
        DailyFigures.objects.filter(service="shuttle").values_list("village", flat=True)
    ) == {vansbro.id}


def test_loans_and_car_hours_per_kind(place):
    _, association, _, dala_jarna = place
    build_sharing(association)
    stats_refresh()
    assert totals("sharing", kind="car") == {
        "requests": 3,
        "fulfilled": 2,
        "unfulfilled": 1,
        "cancelled": 0,
        "no_show": 0,
        "passengers": 2,
        "vehicle_m": 52_000,
        "passenger_m": 52_000,
        "volunteer_s": 0,
        "volunteer_m": 0,
        "usage_s": int(5.5 * 3600),
    }
    tool = totals("sharing", kind="tool")
    assert (tool["requests"], tool["fulfilled"], tool["cancelled"]) == (2, 1, 1)
    assert tool["usage_s"] == 24 * 3600 and tool["passengers"] == 0
    room = totals("sharing", kind="room")
    assert (room["requests"], room["fulfilled"]) == (1, 0)
    car_rows = DailyFigures.objects.filter(service="sharing", kind="car")
    assert {row.village_id for row in car_rows} == {dala_jarna.id}
    assert [d for row in car_rows.order_by("day") for d in row.accept_delays_s] == [1200]


def test_published_by_service_with_car_hours(place, settings):
    settings.STATS_K_ANONYMITY = 2
    municipality, association, vansbro, _ = place
    build_carpool(association, vansbro)
    build_shuttle(association)
    build_sharing(association)
    stats_refresh()
    query = stats_query(
        municipality=municipality, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31)
    )
    with translation.override("en"):
        table = stats_table(query=query, dimension="service")
    rows = {row.label: row.figures for row in table.rows}
    assert set(rows) == {
        "Carpool",
        "Shop runs",
        "Shared things (car)",
        "Shared things (tool)",
        "Shared things (room)",
    }, rows
    assert rows["Carpool"]["passengers"] == 3  # seats filled
    assert rows["Shop runs"]["fulfilled"] == 2
    assert rows["Shared things (car)"]["usage_hours"] == 5.5
    assert rows["Shared things (car)"]["fulfilled"] == 2
    # One person each: withheld (together they are two people, k = 2).
    assert rows["Shared things (tool)"] is None and rows["Shared things (room)"] is None

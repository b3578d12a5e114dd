"""Route legs on PostGIS: the database keeps them in step with the departures, they cover
each route in pieces of at most LEG_M, and looking them up never loses a match."""

import datetime as dt
import itertools
import math
import random

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection

from backend.carpool import services
from backend.carpool.corridor import (
    DROPOFF,
    MATCH_RULES,
    PICKUP,
    PLACEMENT_COLUMNS,
    PLACEMENT_FROM,
    rule_params,
)
from backend.carpool.models import LEG_M, OccurrenceStatus, RouteLeg, TripOccurrence
from dispatch.carpool_matching import Search, departures_matching, leg_reach_m, search_query
from tests.carpool_fixtures import EAST, WEST, along
from tests.factories import next_weekday_at

pytestmark = pytest.mark.django_db


def legs_consistent() -> list[str]:
    """Every way the legs can be out of step with the departures, as readable lines:
    legs of a departure that is not published, a published one without its legs, or
    legs that differ from what carpool_route_legs makes of its route and span now."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH expected AS (
                SELECT o.id, l.piece::geometry AS piece, l.span,
                       carpool_leg_box(l.piece, l.span) AS box
                FROM carpool_tripoccurrence AS o
                CROSS JOIN LATERAL carpool_route_legs(o.route, o.span) AS l
                WHERE o.status = 'published'
            ), stored AS (
                SELECT occurrence_id AS id, piece::geometry AS piece, span, box
                FROM carpool_routeleg
            )
            SELECT 'missing', e.id FROM expected AS e
            WHERE NOT EXISTS (SELECT 1 FROM stored AS s WHERE s.id = e.id AND s.span = e.span
                              AND ST_OrderingEquals(s.box, e.box) AND ST_Equals(s.piece, e.piece))
            UNION ALL
            SELECT 'stale', s.id FROM stored AS s
            WHERE NOT EXISTS (SELECT 1 FROM expected AS e WHERE s.id = e.id AND s.span = e.span
                              AND ST_OrderingEquals(s.box, e.box) AND ST_Equals(s.piece, e.piece))
            """
        )
        return [f"{what} legs of departure {pk}" for what, pk in cursor.fetchall()]


def leg_ids(occurrence: TripOccurrence) -> set[int]:
    return set(RouteLeg.objects.filter(occurrence=occurrence).values_list("pk", flat=True))


def book(occurrence, passenger, seats=1):
    return services.booking_request(
        actor=passenger,
        passenger=passenger,
        occurrence=occurrence,
        pickup=along(0.1),
        pickup_address="Byvägen 3",
        dropoff=along(0.9),
        dropoff_address="Skolan",
        seats=seats,
    )


def test_a_published_departure_is_cut_into_legs_covering_its_route(publish):
    trip = publish()
    occurrence = trip.occurrences.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Length(l.piece), ST_AsText(ST_StartPoint(l.piece::geometry)),"
            " ST_AsText(ST_EndPoint(l.piece::geometry)), lower(l.span), upper(l.span),"
            " ST_Length(o.route)"
            " FROM carpool_routeleg AS l JOIN carpool_tripoccurrence AS o"
            " ON o.id = l.occurrence_id WHERE o.id = %s ORDER BY lower(l.span)",
            [occurrence.pk],
        )
        legs = cursor.fetchall()
    route_m = legs[0][5]
    assert len(legs) == math.ceil(route_m / LEG_M)  # 44 km: 6 legs of about 7.4 km
    assert all(length <= LEG_M for length, *_ in legs)
    # Cut on the lon/lat line, measured along great circles: centimetres apart per leg.
    assert sum(length for length, *_ in legs) == pytest.approx(route_m, rel=1e-4)
    # End to end, in order: each piece starts where the one before ended.
    assert Point.from_ewkt(legs[0][1]).distance(WEST) < 1e-9
    assert Point.from_ewkt(legs[-1][2]).distance(EAST) < 1e-9
    for before, after in itertools.pairwise(legs):
        assert Point.from_ewkt(before[2]).distance(Point.from_ewkt(after[1])) < 1e-9
    # The spans follow the car from departure to arrival, overlapping a little.
    departure, arrival = occurrence.span.lower, occurrence.span.upper
    assert legs[0][3] < departure < legs[0][4]
    assert legs[-1][3] < arrival < legs[-1][4]
    for before, after in itertools.pairwise(legs):
        assert after[3] < before[4]
        assert after[3] > before[3]
    # Widened by a few minutes at most on a one-hour trip in one county.
    share = (arrival - departure) / len(legs)
    assert all(leg[4] - leg[3] < share + dt.timedelta(minutes=5) for leg in legs)
    assert legs_consistent() == []


def test_each_departure_of_a_recurring_trip_has_its_own_legs(publish):
    trip = publish(
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", first_departure=next_weekday_at(0, 7, 10)
    )
    occurrences = list(trip.occurrences.all())
    assert len(occurrences) >= 5
    assert all(len(leg_ids(o)) == 6 for o in occurrences)
    assert legs_consistent() == []


def test_legs_go_when_the_last_seat_is_taken_and_come_back_when_it_is_freed(
    publish, passenger, carpool_driver
):
    occurrence = publish(seats=2).occurrences.get()
    before = leg_ids(occurrence)
    booking = book(occurrence, passenger, seats=1)
    services.booking_accept(booking=booking, actor=carpool_driver)
    # Still published with a free seat: the legs are not touched at all.
    assert leg_ids(occurrence) == before
    services.booking_cancel(booking=booking, actor=passenger, reason="Sjuk")
    assert leg_ids(occurrence) == before

    booking = book(occurrence, passenger, seats=2)
    services.booking_accept(booking=booking, actor=carpool_driver)
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.FULL
    assert leg_ids(occurrence) == set()
    assert legs_consistent() == []

    services.booking_cancel(booking=booking, actor=passenger, reason="Sjuk")
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.PUBLISHED
    assert len(leg_ids(occurrence)) == len(before)
    assert legs_consistent() == []


def test_cancelled_departed_and_deleted_departures_have_no_legs(publish, carpool_driver):
    recurring = publish(rrule="FREQ=DAILY", first_departure=next_weekday_at(0, 7, 10))
    first, second, *rest = recurring.occurrences.order_by("departure_at")
    services.occurrence_cancel(occurrence=first, actor=carpool_driver, reason="Bilen trasig")
    assert leg_ids(first) == set()
    assert len(leg_ids(second)) == 6
    assert legs_consistent() == []

    services.occurrences_advance(now=second.departure_at + dt.timedelta(minutes=1))
    assert leg_ids(second) == set()
    assert legs_consistent() == []

    # Deleted behind the application's back: the trigger still removes the legs.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM carpool_tripoccurrence WHERE id = %s", [rest[0].pk])
    assert leg_ids(rest[0]) == set()
    assert legs_consistent() == []

    services.trip_cancel(trip=recurring, actor=carpool_driver, reason="Flyttar")
    assert not RouteLeg.objects.filter(occurrence__trip=recurring).exists()
    assert legs_consistent() == []


def test_a_changed_route_or_time_rewrites_the_legs(publish):
    occurrence = publish().occurrences.get()
    with connection.cursor() as cursor:
        # Only to the middle of the route (22 km: 3 legs), and an hour later.
        cursor.execute(
            "UPDATE carpool_tripoccurrence SET route = %s::geography,"
            " departure_at = departure_at + interval '1 hour',"
            " span = tstzrange(lower(span) + interval '1 hour', upper(span), '[)') WHERE id = %s",
            [
                f"SRID=4326;LINESTRING({WEST.x} {WEST.y}, {along(0.5).x} {along(0.5).y})",
                occurrence.pk,
            ],
        )
    assert len(leg_ids(occurrence)) == 3
    assert legs_consistent() == []


# --- The lookup never loses a match ------------------------------------------------------------

# A route that bends north and then east over a degree of latitude: the longitudes the
# legs are cut with (the route's middle latitude) and those of the search (the
# passenger's) differ the most along such a route.
BENDY = [Point(13.2, 60.1, srid=4326), Point(13.9, 60.9, srid=4326), Point(15.0, 61.2, srid=4326)]


def test_the_leg_at_any_pickup_contains_the_moment_the_search_computes(publish):
    occurrence = publish(origin=BENDY[0], via=[BENDY[1]], destination=BENDY[2]).occurrences.get()
    rng = random.Random(5)
    corridor = settings.CARPOOL_CORRIDOR_M
    reach = leg_reach_m(corridor)
    checked = 0
    with connection.cursor() as cursor:
        for _ in range(300):
            point = Point(rng.uniform(13.1, 15.1), rng.uniform(60.0, 61.3), srid=4326)
            cursor.execute(
                f"""
                SELECT ST_Distance(o.route, {PICKUP}) <= %(corridor)s,
                       o.departure_at + (upper(o.span) - lower(o.span))
                           * ST_LineLocatePoint(ST_Scale(o.route::geometry, %(kx)s, 1),
                                                ST_Scale(({PICKUP})::geometry, %(kx)s, 1)),
                       EXISTS (SELECT 1 FROM carpool_routeleg AS l
                               WHERE l.occurrence_id = o.id
                                 AND ST_DWithin(l.piece, {PICKUP}, %(reach)s, false)
                                 AND l.span @> (o.departure_at + (upper(o.span) - lower(o.span))
                                     * ST_LineLocatePoint(
                                         ST_Scale(o.route::geometry, %(kx)s, 1),
                                         ST_Scale(({PICKUP})::geometry, %(kx)s, 1))))
                FROM carpool_tripoccurrence AS o WHERE o.id = %(id)s
                """,  # noqa: S608 - our constants; values are parameters
                {
                    "plon": point.x,
                    "plat": point.y,
                    "kx": math.cos(math.radians(point.y)),
                    "corridor": corridor,
                    "reach": reach,
                    "id": occurrence.pk,
                },
            )
            within, _, found = cursor.fetchone()
            if within:
                checked += 1
                assert found, f"no leg holds the pickup {point.x:.4f} {point.y:.4f}"
    assert checked > 30  # enough of the random points fell within the corridor


# The rules with no leg lookup at all: every departure measured exactly.
EVERY_DEPARTURE_SQL = f"""
SELECT {PLACEMENT_COLUMNS}
{PLACEMENT_FROM}
WHERE o.status = '{OccurrenceStatus.PUBLISHED}'
  AND ST_DWithin(o.route, {PICKUP}, %(corridor)s)
  AND ST_DWithin(o.route, {DROPOFF}, %(corridor)s)
  AND o.seats_total - o.seats_taken >= %(seats)s
  AND t.driver_id <> %(searcher)s
  AND {MATCH_RULES}
  AND c.pickup_at BETWEEN %(window_start)s AND %(window_end)s
ORDER BY c.detour_m + c.walk_m,
         abs(extract(epoch FROM c.pickup_at - %(preferred)s)),
         o.departure_at, o.id
LIMIT %(limit)s
"""  # noqa: S608 - our constants; values are parameters


def test_the_search_finds_what_measuring_every_departure_finds(publish):
    rng = random.Random(11)
    monday = next_weekday_at(0, 7, 0)
    places = [(13.3 + 0.3 * i, 60.2 + 0.15 * (i % 4)) for i in range(7)]
    for _ in range(60):
        a, b = rng.sample(places, 2)
        middle = (
            (a[0] + b[0]) / 2 + rng.uniform(-0.1, 0.1),
            (a[1] + b[1]) / 2 + rng.uniform(-0.05, 0.05),
        )
        publish(
            origin=Point(
                a[0] + rng.uniform(-0.03, 0.03), a[1] + rng.uniform(-0.02, 0.02), srid=4326
            ),
            via=[Point(*middle, srid=4326)],
            destination=Point(b[0], b[1], srid=4326),
            first_departure=monday + dt.timedelta(minutes=rng.randint(-90, 90)),
            seats=rng.randint(1, 4),
        )
    non_empty = 0
    for _ in range(80):
        a, b = rng.sample(places, 2)
        start = monday + dt.timedelta(minutes=rng.randint(-60, 60))
        search = Search(
            pickup=Point(a[0] + rng.gauss(0, 0.03), a[1] + rng.gauss(0, 0.015), srid=4326),
            dropoff=Point(b[0] + rng.gauss(0, 0.03), b[1] + rng.gauss(0, 0.015), srid=4326),
            window_start=start,
            window_end=start + dt.timedelta(minutes=rng.choice([30, 60, 120])),
            walk_m=rng.choice([0, 1000, 3000]),
        )
        _, params = search_query(search, limit=100)
        with connection.cursor() as cursor:
            cursor.execute(EVERY_DEPARTURE_SQL, {**params, **rule_params()})
            expected = [row[0] for row in cursor.fetchall()]
        assert [p.occurrence_id for p in departures_matching(search, limit=100)] == expected
        non_empty += bool(expected)
    assert non_empty >= 10, "too few searches found anything to compare"

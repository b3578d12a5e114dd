"""The roll-ups (`DailyFigures`, `MonthlyPeople`, `PersonMonth`) give the same figures as
a direct computation from the services' own rows, after every incremental refresh:
edits, cancellations, late-arriving rows, the erasure of a person. And the incremental
roll-ups equal a full rebuild.

"Direct" is every service's `facts_sql` aggregated in one statement (counts, sums,
distinct people with `count(DISTINCT)`, the median with `percentile_cont`), as the
figures are defined in docs/privacy-statistics.md; it shares nothing with the summary
but the definition of a fact."""

# The direct statement is built from the sources' constant SQL.
# ruff: noqa: S608

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from backend.carpool.models import Booking as SeatBooking
from backend.rides.models import RideEvent
from backend.rides.services import ride_cancel, ride_mark_unfulfilled
from backend.stats.models import DailyFigures, KeyBit, MonthlyPeople, PersonMonth
from backend.stats.queries import fetch_tables
from backend.stats.refresh import stats_refresh
from backend.stats.selectors import stats_query
from backend.stats.sources import SOURCES
from dispatch.privacy import person_erase
from tests.backend.stats.test_sources import build_carpool, build_sharing, build_shuttle
from tests.stats_data import add_ride, build_world, pickup

pytestmark = pytest.mark.django_db

FACTS = " UNION ALL ".join(
    f"SELECT f.*, '{source.service}'::text AS service FROM ({source.facts_sql}) f"
    for source in SOURCES
)

DIRECT = f"""
WITH f AS (
    SELECT f.*,
        CASE WHEN f.kind = '' THEN f.service ELSE f.service || ':' || f.kind END AS service_key,
        date_trunc(%(granularity)s, f.day::timestamp)::date AS period
    FROM ({FACTS}) f
    WHERE f.municipality_id = %(municipality)s AND f.day BETWEEN %(start)s AND %(end)s
        AND (cardinality(%(villages)s::bigint[]) = 0 OR f.village_id = ANY(%(villages)s))
)
SELECT GROUPING(village_id, association_id, service_key, period) AS g,
    village_id, association_id, service_key, period,
    count(*) AS requests,
    count(*) FILTER (WHERE fulfilled) AS fulfilled,
    count(*) FILTER (WHERE unfulfilled) AS unfulfilled,
    count(*) FILTER (WHERE cancelled) AS cancelled,
    count(*) FILTER (WHERE no_show) AS no_show,
    COALESCE(sum(passengers) FILTER (WHERE fulfilled), 0) AS passengers,
    COALESCE(sum(vehicle_m) FILTER (WHERE fulfilled), 0) AS vehicle_m,
    COALESCE(sum(passenger_m) FILTER (WHERE fulfilled), 0) AS passenger_m,
    COALESCE(sum(volunteer_s) FILTER (WHERE fulfilled), 0) AS volunteer_s,
    COALESCE(sum(volunteer_m) FILTER (WHERE fulfilled), 0) AS volunteer_m,
    COALESCE(sum(usage_s) FILTER (WHERE fulfilled), 0) AS usage_s,
    count(DISTINCT person_id) AS requesters,
    count(DISTINCT person_id) FILTER (WHERE fulfilled) AS served,
    count(DISTINCT person_id) FILTER (WHERE fulfilled AND elderly) AS served_elderly,
    count(DISTINCT person_id) FILTER (WHERE fulfilled AND managed) AS served_managed,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY accept_delay_s) AS median_s
FROM f
GROUP BY GROUPING SETS ((village_id), (association_id), (service_key), (period), ())
"""

DECEMBER, FEBRUARY_END = dt.date(2025, 12, 1), dt.date(2026, 2, 28)
DIMENSIONS = ["village", "association", "service", "period"]
COLUMN = ["village_id", "association_id", "service_key", "period"]
COMPARED = [
    "requests",
    "fulfilled",
    "unfulfilled",
    "cancelled",
    "no_show",
    "passengers",
    "vehicle_m",
    "passenger_m",
    "volunteer_s",
    "volunteer_m",
    "usage_s",
    "requesters",
    "served",
    "served_elderly",
    "served_managed",
    "median_s",
]


def direct(query) -> dict:
    """{(dimension or None, key): figures} straight from the services' rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            DIRECT,
            {
                "tz": settings.TIME_ZONE,
                "elderly_age": settings.STATS_ELDERLY_AGE,
                "granularity": query.granularity,
                "municipality": query.municipality.pk,
                "start": query.start,
                "end": query.end,
                "villages": list(query.villages),
            },
        )
        names = [c.name for c in cursor.description]
        out = {}
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            grouped = [i for i in range(4) if not row["g"] & (1 << (3 - i))]
            dimension = DIMENSIONS[grouped[0]] if grouped else None
            key = row[COLUMN[grouped[0]]] if grouped else None
            out[(dimension, key)] = {name: row[name] for name in COMPARED}
    return out


def from_summary(query) -> dict:
    """The same, as the published tables read them from the summary (before the
    privacy rule)."""
    tables = fetch_tables(query, DIMENSIONS).tables
    out = {}
    for dimension, (rows, total) in tables.items():
        for key, raw in rows.items():
            out[(dimension, key)] = {name: raw.get(name) for name in COMPARED}
        out[(None, None)] = {name: total.get(name) for name in COMPARED}
    return out


def queries(world) -> list:
    """Whole months by month (masks only), a range cutting months (masks and daily
    arrays), by week and by day (daily arrays), one village (pairs hashed)."""
    a = world.a
    return [
        stats_query(
            municipality=a,
            start=dt.date(2025, 12, 1),
            end=dt.date(2026, 2, 28),
            granularity="month",
        ),
        stats_query(
            municipality=a,
            start=dt.date(2026, 1, 11),
            end=dt.date(2026, 2, 10),
            granularity="month",
        ),
        stats_query(
            municipality=a, start=dt.date(2025, 12, 1), end=dt.date(2026, 2, 28), granularity="week"
        ),
        stats_query(
            municipality=a, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), granularity="day"
        ),
        stats_query(
            municipality=a,
            start=dt.date(2025, 12, 1),
            end=dt.date(2026, 2, 28),
            villages=[world.vansbro.pk],
            granularity="month",
        ),
    ]


def assert_summary_equals_direct(world) -> None:
    for query in queries(world):
        expected = direct(query)
        assert expected[(None, None)]["requests"] > 0
        assert from_summary(query) == expected, (query.start, query.granularity, query.villages)


def snapshot() -> tuple:
    daily = sorted(
        tuple(str(v) for v in row)
        for row in DailyFigures.objects.values_list(
            "service", "kind", "day", "association", "village", "requests", "fulfilled",
            "requesters", "served", "served_elderly", "served_managed", "accept_delays_s",
        )
    )  # fmt: skip
    people = sorted(
        tuple(str(v) for v in row)
        for row in MonthlyPeople.objects.values_list(
            "service", "kind", "month", "association", "village", "person_id", "served",
            "elderly", "managed",
        )
    )  # fmt: skip
    masks = sorted(
        tuple(str(v) for v in row)
        for row in PersonMonth.objects.values_list(
            *(f.name for f in PersonMonth._meta.get_fields() if f.name != "id")
        )
    )
    return daily, people, masks


def now_event(ride) -> None:
    RideEvent.objects.create(ride=ride, from_state=ride.state, to_state=ride.state, reason="")


@pytest.fixture
def world():
    world = build_world()
    build_carpool(world.byaskjutsen, world.vansbro)
    build_shuttle(world.byaskjutsen)
    build_sharing(world.pro)
    stats_refresh()  # the first is full
    return world


def test_the_summary_equals_the_direct_computation_after_a_full_refresh(world):
    assert KeyBit.objects.filter(municipality=world.a, bit__isnull=True).count() == 0
    assert_summary_equals_direct(world)


def test_after_edits_and_cancellations(world):
    # An edit: one more passenger on P2's ride and the driven km corrected.
    ride = world.people["P2"].rides.get()
    ride.passengers, ride.driven_m = 2, 23_000
    ride.save(update_fields=["passengers", "driven_m"])
    now_event(ride)
    # Cancellations: an open ride cancelled by the rider, a seat booking cancelled by
    # its passenger, a shop-run sign-up cancelled.
    open_ride = add_ride(
        world, "P3", world.byaskjutsen, world.dala_jarna, pickup(2, 20), "offering"
    )
    open_ride.events.update(at=timezone.now())
    stats_refresh()
    assert_summary_equals_direct(world)
    ride_cancel(ride=open_ride, actor=world.people["P3"], reason="")
    booking = SeatBooking.objects.get(state="confirmed", seats=2)
    booking.state, booking.cancelled_by, booking.closed_at = (
        "cancelled",
        "passenger",
        timezone.now(),
    )
    booking.save(update_fields=["state", "cancelled_by", "closed_at"])
    # A ride that nobody could drive after all.
    unserved = add_ride(world, "P5", world.byaskjutsen, world.vansbro, pickup(2, 21), "offering")
    unserved.events.update(at=timezone.now())
    ride_mark_unfulfilled(ride=unserved)
    results = stats_refresh()
    assert all(not result.full for result in results)
    assert_summary_equals_direct(world)
    incremental = snapshot()
    stats_refresh(full=True)
    assert snapshot() == incremental


def test_after_late_arriving_rows(world):
    # A ride for a month that had none (December), recorded now; and one whose events
    # were written a while ago by a transaction that committed late (within the
    # overlap), for a day that has rows.
    in_december = pickup(1, 1) - dt.timedelta(days=20)
    december = add_ride(world, "P11", world.pro, world.appelbo, in_december, "completed",
                        trip_km=7, driven_km=7, accept_min=3)  # fmt: skip
    december.events.update(at=timezone.now())
    late = add_ride(world, "P7", world.byaskjutsen, world.dala_jarna, pickup(1, 11), "completed",
                    trip_km=4, driven_km=4, accept_min=50)  # fmt: skip
    late.events.update(
        at=timezone.now() - dt.timedelta(seconds=settings.STATS_REFRESH_OVERLAP // 2)
    )
    results = stats_refresh()
    assert all(not result.full for result in results)
    assert results[0].keys == 2
    assert PersonMonth.objects.filter(month=dt.date(2025, 12, 1)).count() == 1
    assert_summary_equals_direct(world)
    incremental = snapshot()
    stats_refresh(full=True)
    assert snapshot() == incremental


def test_after_the_erasure_of_a_person(world):
    p2 = world.people["P2"]  # born 1950, not managed, served on 12 January
    before = from_summary(queries(world)[0])
    person_erase(user=p2, actor=p2)
    results = stats_refresh()  # incremental: the erasure names every day P2 is in
    assert all(not result.full for result in results)
    assert from_summary(queries(world)[0]) == before
    assert_summary_equals_direct(world)
    incremental = snapshot()
    stats_refresh(full=True)
    assert snapshot() == incremental


def test_a_key_without_a_bit_counts_people_from_pairs(world):
    """A municipality with more keys than bits: its people are counted the long way, with
    the same result, also for a table that has no column of that key."""
    KeyBit.objects.filter(
        municipality=world.a, dimension="village", key=str(world.appelbo.pk)
    ).update(bit=None)
    stats_refresh(full=True)  # masks written without that village, as in such a place
    assert PersonMonth.objects.filter(municipality=world.a).exists()
    assert_summary_equals_direct(world)
    query = queries(world)[0]
    rows, total = fetch_tables(query, ["period"]).tables["period"]
    expected = direct(query)
    assert {name: total.get(name) for name in COMPARED} == expected[(None, None)]
    assert {key: {name: raw.get(name) for name in COMPARED} for key, raw in rows.items()} == {
        key: figures for (dimension, key), figures in expected.items() if dimension == "period"
    }

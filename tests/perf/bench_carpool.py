"""Benchmark: the carpool corridor search (dispatch.carpool_matching) at 10k, 100k and 1M
published trips over one county (Dalarna, about 28,000 km²).

Trips run between real localities of the county (tests/perf/data/se_localities.csv,
GeoNames), each end scattered a few kilometres around its locality, along a line with
one bend in the middle; departures between 06:00 and 20:00 on the next 14 days, 1-4
seats, 5 % full and 3 % cancelled. They are generated inside PostgreSQL (INSERT …
SELECT over generate_series: about a minute for 1M trips with their departures), growing
10k -> 100k -> 1M; the departures' route legs are written in one INSERT … SELECT with the
same SQL function the trigger uses (the trigger is switched off while loading, row by row
would take far longer), and the GiST indexes are rebuilt and the tables analysed after
each step.

Each size gets the same kind of searches: half are made from a published departure
(pickup 15 %, drop-off 85 % along its route, ~300 m off it, a one-hour window around
when it passes), so there is something to find; half are between two random localities
of the county in a two-hour morning window. Three methods, same run, same data:

  a. `departures_matching()`: the real function, one query on the GiST index over
     the route legs' boxes in lon, lat and time (wall time around the call, after a warm-up);
  a'. the previous method: the same rules on a GiST index over (route, span) of whole
     routes of published departures (PREVIOUS_SQL below, an index built for it here);
  b. the same SQL with index and bitmap scans switched off (what the query costs without
     the spatial index: a sequential scan);
  c. a plain Python scan (shapely) over all departures held in memory: time and seats
     first, then distance to the line, positions along it and the same rules, ranked
     the same way (lines in a local equirectangular projection, metres).

(a) and (c) should find the same departures; the check reports how often the sets agree
(they measure on the spheroid and on a plane, so a match at the very edge may differ)
and fails below 80 %. Speed is reported, never asserted.

    SAMBY_BENCH_SIZES=10000,100000   fewer sizes (default 10000,100000,1000000)
    BENCH_CARPOOL_SEARCHES=200       searches per size
    BENCH_CARPOOL_SCAN_SECONDS=60    time budget per size for (b) and (c) each

Run with `make bench ARGS="-k carpool"`. The report also goes to var/bench/carpool.txt.
"""

import csv
import datetime as dt
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import shapely
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from backend.accounts.models import User
from backend.carpool.corridor import (
    DROPOFF,
    MATCH_RULES,
    PICKUP,
    PLACEMENT_COLUMNS,
    PLACEMENT_FROM,
    placement_from_row,
)
from backend.carpool.models import OccurrenceStatus
from dispatch.carpool_matching import Search, departures_matching, search_query
from tests.factories import AssociationFactory
from tests.perf.bench_dispatch import Report, load_average, machine_info, percentile

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

SIZES = [int(n) for n in os.environ.get("SAMBY_BENCH_SIZES", "10000,100000,1000000").split(",")]
SEARCHES = int(os.environ.get("BENCH_CARPOOL_SEARCHES", "200"))
SCAN_SECONDS = float(os.environ.get("BENCH_CARPOOL_SCAN_SECONDS", "60"))
COUNTY = "Dalarna"
DATA = Path(__file__).resolve().parent / "data" / "se_localities.csv"
REPORT_FILE = Path(__file__).resolve().parents[2] / "var" / "bench" / "carpool.txt"
DRIVERS = 2_000
WARM_UP = 20
MIN_SCAN = 10
LAT0 = 60.6  # the projection of the Python baseline
M_PER_DEG = 111_320.0


def test_corridor_search_at_growing_sizes():
    out = Report()
    out.line("Carpool corridor search: departures_matching() against baselines")
    out.line(f"county {COUNTY}, sizes {SIZES}, {SEARCHES} searches per size")
    out.line("")
    out.line("Machine:")
    for name, value in machine_info():
        out.line(f"  {name}: {value}")
    places = localities()
    out.line(f"  localities in {COUNTY}: {len(places)}")
    driver_ids = create_drivers()
    summary = []
    try:
        for size in sorted(SIZES):
            started = time.perf_counter()
            add_trips(size - trip_count(), places, driver_ids)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            rebuild_index()
            indexed = time.perf_counter() - started
            started = time.perf_counter()
            world = load_world()
            held = time.perf_counter() - started
            out.line("")
            out.line(
                f"== {size:,} trips: generated in {loaded:.1f} s, index + ANALYZE {indexed:.1f} s,"
                f" held in Python {held:.1f} s; {table_size()}"
            )
            searches = make_searches(world, places, SEARCHES, seed=size)
            rows, agreement = measure(world, searches, out, explain_it=size == max(SIZES))
            out.table(["method", "searches", "p50 ms", "p99 ms", "results (avg)"], rows)
            out.line(agreement)
            summary.append((size, rows))
        out.line("")
        out.table(
            ["trips", *(f"{row[0]} p50/p99 ms" for row in summary[0][1])],
            [(f"{size:,}", *(f"{row[2]} / {row[3]}" for row in rows)) for size, rows in summary],
            title="Summary",
        )
        out.line(f"load average at the end: {load_average()}")
    finally:
        REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
        REPORT_FILE.write_text("\n".join(out.lines) + "\n", encoding="utf-8")


# --- Data -----------------------------------------------------------------------------------


def localities() -> list[tuple[float, float]]:
    with DATA.open(encoding="utf-8") as file:
        return [
            (float(row["lon"]), float(row["lat"]))
            for row in csv.DictReader(file)
            if row["county"] == COUNTY
        ]


def create_drivers() -> list[int]:
    association = AssociationFactory(name="Samby Dalarna")
    users = User.objects.bulk_create(
        User(full_name=f"Förare {n}", phone=f"+4670{n:07d}", password="!bench")
        for n in range(DRIVERS)
    )
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (association_id bigint)")
        cursor.execute("INSERT INTO bench_meta VALUES (%s)", [association.pk])
    return [u.pk for u in users]


def trip_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM carpool_trip")
        return cursor.fetchone()[0]


TRIPS_SQL = """
WITH g AS (
    SELECT n, floor(random() * %(places)s)::int AS a,
           1 + floor(random() * (%(places)s - 1))::int AS b,
           random() AS r1, random() AS r2, random() AS r3, random() AS r4,
           random() AS r5, random() AS r6, random() AS r7, random() AS r8, random() AS r9
    FROM generate_series(1, %(count)s) AS n
), p AS (
    SELECT g.*,
           ST_SetSRID(ST_MakePoint(la.lon + (g.r1 - 0.5) * 0.08,
                                   la.lat + (g.r2 - 0.5) * 0.04), 4326) AS o,
           ST_SetSRID(ST_MakePoint(lb.lon + (g.r3 - 0.5) * 0.08,
                                   lb.lat + (g.r4 - 0.5) * 0.04), 4326) AS d
    FROM g
    JOIN bench_loc AS la ON la.i = g.a
    JOIN bench_loc AS lb ON lb.i = (g.a + g.b) %% %(places)s
), l AS (
    SELECT p.*, ST_MakeLine(ARRAY[o, ST_SetSRID(ST_MakePoint(
               (ST_X(o) + ST_X(d)) / 2 + (r5 - 0.5) * 0.1,
               (ST_Y(o) + ST_Y(d)) / 2 + (r6 - 0.5) * 0.05), 4326), d]) AS line
    FROM p
), m AS (
    SELECT l.*, greatest(1000, round(ST_Length(line::geography) * %(road_factor)s))::int
               AS distance_m
    FROM l
)
INSERT INTO carpool_trip (
    driver_id, association_id, origin, origin_address, destination, destination_address,
    route, distance_m, duration_s, first_departure, rrule, seats, price_ore, max_price_ore,
    instant_booking, pets_allowed, luggage, smoking_allowed, note, created_at)
SELECT %(first_driver)s + n %% %(drivers)s, (SELECT association_id FROM bench_meta LIMIT 1),
       o::geography, '', d::geography, '', line::geography, distance_m,
       round(distance_m / (%(speed)s / 3.6))::int,
       %(today)s::timestamptz + (1 + floor(r7 * 14)) * interval '1 day'
           + (360 + floor(r8 * 840)) * interval '1 minute',
       '', 1 + floor(r9 * 4)::int, 0, 0, r9 < 0.3, false, 'small', false, '', now()
FROM m
"""

OCCURRENCES_SQL = """
INSERT INTO carpool_tripoccurrence (
    trip_id, departure_at, span, route, seats_total, seats_taken, status, cancel_reason)
SELECT t.id, t.first_departure,
       tstzrange(t.first_departure, t.first_departure + t.duration_s * interval '1 second', '[)'),
       t.route, t.seats,
       CASE WHEN x < 0.05 THEN t.seats WHEN x < 0.08 THEN 0
            ELSE floor(random() * t.seats)::int END,
       CASE WHEN x < 0.05 THEN 'full' WHEN x < 0.08 THEN 'cancelled' ELSE 'published' END, ''
FROM (SELECT t.*, random() AS x FROM carpool_trip AS t WHERE t.id > %(after)s) AS t
"""


def add_trips(count: int, places: list[tuple[float, float]], driver_ids: list[int]) -> None:
    if count <= 0:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [count / 10_000_000])
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_loc (i int, lon float8, lat float8)")
        cursor.execute("TRUNCATE bench_loc")
        cursor.executemany(
            "INSERT INTO bench_loc VALUES (%s, %s, %s)",
            [(i, lon, lat) for i, (lon, lat) in enumerate(places)],
        )
        cursor.execute("SELECT coalesce(max(id), 0) FROM carpool_trip")
        after = cursor.fetchone()[0]
        cursor.execute("DROP INDEX IF EXISTS occurrence_route_span")
        cursor.execute("DROP INDEX IF EXISTS routeleg_box")
        cursor.execute(
            TRIPS_SQL,
            {
                "count": count,
                "places": len(places),
                "road_factor": settings.ROAD_FACTOR,
                "speed": settings.AVERAGE_SPEED_KMH,
                "first_driver": min(driver_ids),
                "drivers": len(driver_ids),
                "today": dt.datetime.now(tz=dt.UTC).replace(hour=0, minute=0, second=0),
            },
        )
        cursor.execute("ALTER TABLE carpool_tripoccurrence DISABLE TRIGGER carpool_occurrence_legs")
        try:
            cursor.execute(OCCURRENCES_SQL, {"after": after})
            cursor.execute(LEGS_SQL, {"after": after})
        finally:
            # The deferred foreign-key checks of the rows just written must run first:
            # a table with pending trigger events cannot be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE carpool_tripoccurrence ENABLE TRIGGER carpool_occurrence_legs"
            )


# What the trigger writes for each published departure, for all new ones at once.
LEGS_SQL = """
INSERT INTO carpool_routeleg (occurrence_id, piece, span, box)
SELECT o.id, l.piece, l.span, carpool_leg_box(l.piece, l.span)
FROM carpool_tripoccurrence AS o
CROSS JOIN LATERAL carpool_route_legs(o.route, o.span) AS l
WHERE o.trip_id > %(after)s AND o.status = 'published'
"""


def rebuild_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS occurrence_route_span")
        cursor.execute("DROP INDEX IF EXISTS routeleg_box")
        cursor.execute(
            "CREATE INDEX routeleg_box ON carpool_routeleg USING gist (box gist_geometry_ops_nd)"
        )
        cursor.execute("VACUUM ANALYZE carpool_routeleg")
        cursor.execute("VACUUM ANALYZE carpool_tripoccurrence")
        cursor.execute("VACUUM ANALYZE carpool_trip")


def table_size() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('carpool_tripoccurrence')),"
            " pg_size_pretty(pg_total_relation_size('carpool_routeleg')),"
            " pg_size_pretty(pg_relation_size('routeleg_box')),"
            " (SELECT count(*) FROM carpool_routeleg)"
        )
        table, legs, index, count = cursor.fetchone()
    return f"departures {table}; {count:,} legs {legs}, GiST on their boxes {index}"


# The first version of the search, kept to compare: the GiST index over (route, span) of
# whole routes answers "near both points" by bounding boxes, then the same rules.
PREVIOUS_SQL = f"""
SELECT {PLACEMENT_COLUMNS}
{PLACEMENT_FROM}
WHERE o.status = '{OccurrenceStatus.PUBLISHED}'
  AND o.span && tstzrange(%(window_start)s, %(window_end)s, '[]')
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
"""  # noqa: S608 - composed of our own constants; values are parameters


def previous_method(search: Search) -> list:
    _, params = search_query(search)
    with connection.cursor() as cursor:
        cursor.execute(PREVIOUS_SQL, params)
        return [placement_from_row(r) for r in cursor.fetchall()]


# --- The Python baseline ----------------------------------------------------------------------


def project(lon: float, lat: float) -> tuple[float, float]:
    return lon * M_PER_DEG * math.cos(math.radians(LAT0)), lat * M_PER_DEG


@dataclass
class World:
    """Every departure as the Python scan sees it, in plain lists and shapely lines."""

    ids: list[int]
    departure: list[float]  # epoch seconds
    duration: list[float]
    distance: list[int]
    seats_free: list[int]
    published: list[bool]
    lines: np.ndarray  # shapely LineStrings, projected metres
    lonlat: np.ndarray  # (n, 3, 2) for making searches


def load_world() -> World:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, extract(epoch FROM o.departure_at), "
            " extract(epoch FROM upper(o.span) - lower(o.span)), t.distance_m,"
            " o.seats_total - o.seats_taken, o.status = 'published',"
            " ST_X(ST_PointN(o.route::geometry, 1)), ST_Y(ST_PointN(o.route::geometry, 1)),"
            " ST_X(ST_PointN(o.route::geometry, 2)), ST_Y(ST_PointN(o.route::geometry, 2)),"
            " ST_X(ST_PointN(o.route::geometry, 3)), ST_Y(ST_PointN(o.route::geometry, 3))"
            " FROM carpool_tripoccurrence AS o JOIN carpool_trip AS t ON t.id = o.trip_id"
            " ORDER BY o.id"
        )
        rows = cursor.fetchall()
    lonlat = np.array([row[6:12] for row in rows], dtype=float).reshape(-1, 3, 2)
    xy = lonlat.copy()
    xy[:, :, 0] *= M_PER_DEG * math.cos(math.radians(LAT0))
    xy[:, :, 1] *= M_PER_DEG
    return World(
        ids=[row[0] for row in rows],
        departure=[float(row[1]) for row in rows],
        duration=[float(row[2]) for row in rows],
        distance=[row[3] for row in rows],
        seats_free=[row[4] for row in rows],
        published=[row[5] for row in rows],
        lines=shapely.linestrings(xy),
        lonlat=lonlat,
    )


def python_search(world: World, search: Search, limit: int) -> list[int]:
    """The same rules as the query, one departure at a time."""
    walk = settings.CARPOOL_WALK_M if search.walk_m is None else search.walk_m
    corridor = settings.CARPOOL_CORRIDOR_M
    max_detour = settings.CARPOOL_MAX_DETOUR_PCT / 100
    min_shared = settings.CARPOOL_MIN_SHARED_PCT / 100
    road = settings.ROAD_FACTOR
    start, end = search.window_start.timestamp(), search.window_end.timestamp()
    preferred = start + (end - start) / 2
    pickup = shapely.Point(*project(search.pickup.x, search.pickup.y))
    dropoff = shapely.Point(*project(search.dropoff.x, search.dropoff.y))
    found = []
    for i in range(len(world.ids)):
        departure = world.departure[i]
        if not world.published[i] or world.seats_free[i] < search.seats:
            continue
        if departure > end or departure + world.duration[i] < start:
            continue
        line = world.lines[i]
        p_off, d_off = line.distance(pickup), line.distance(dropoff)
        if p_off > corridor or d_off > corridor:
            continue
        fp = line.project(pickup, normalized=True)
        fd = line.project(dropoff, normalized=True)
        if fp >= fd or fd - fp < min_shared:
            continue
        walked = (p_off if p_off <= walk else 0) + (d_off if d_off <= walk else 0)
        detour = 2 * road * ((0 if p_off <= walk else p_off) + (0 if d_off <= walk else d_off))
        if detour > max_detour * world.distance[i]:
            continue
        pickup_at = departure + world.duration[i] * fp
        if not start <= pickup_at <= end:
            continue
        found.append((detour + walked, abs(pickup_at - preferred), departure, world.ids[i]))
    found.sort()
    return [row[3] for row in found[:limit]]


# --- Searches and measuring ---------------------------------------------------------------------


def make_searches(world: World, places, count: int, *, seed: int) -> list[Search]:
    rng = random.Random(seed)
    searches = []
    published = [i for i in range(len(world.ids)) if world.published[i]]
    today = dt.datetime.now(tz=dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for n in range(count):
        if n % 2 == 0:
            i = rng.choice(published)
            line = shapely.LineString(world.lonlat[i])
            pickup = line.interpolate(0.15, normalized=True)
            dropoff = line.interpolate(0.85, normalized=True)
            off = 300 / M_PER_DEG
            passes = world.departure[i] + world.duration[i] * 0.15
            middle = dt.datetime.fromtimestamp(passes, tz=dt.UTC)
            searches.append(
                Search(
                    pickup=Point(pickup.x, pickup.y + off, srid=4326),
                    dropoff=Point(dropoff.x, dropoff.y - off, srid=4326),
                    window_start=middle - dt.timedelta(minutes=30),
                    window_end=middle + dt.timedelta(minutes=30),
                )
            )
        else:
            a, b = rng.sample(places, 2)
            start = today + dt.timedelta(days=rng.randint(1, 14), hours=rng.randint(5, 7))
            searches.append(
                Search(
                    pickup=Point(a[0] + rng.gauss(0, 0.02), a[1] + rng.gauss(0, 0.01), srid=4326),
                    dropoff=Point(b[0] + rng.gauss(0, 0.02), b[1] + rng.gauss(0, 0.01), srid=4326),
                    window_start=start,
                    window_end=start + dt.timedelta(hours=2),
                )
            )
    return searches


def without_index(search: Search) -> list:
    sql, params = search_query(search)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


def measure(world: World, searches: Sequence[Search], out: Report, *, explain_it: bool):
    limit = settings.CARPOOL_SEARCH_LIMIT
    for search in searches[:WARM_UP]:
        departures_matching(search)
    sql_times, sql_found = timed(searches, departures_matching)
    # The previous method's index exists only while it is measured: with it present the
    # planner may read the departures through it instead of by id in the final step.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX occurrence_route_span ON carpool_tripoccurrence"
            " USING gist (route, span) WHERE status = 'published'"
        )
        cursor.execute("ANALYZE carpool_tripoccurrence")
    try:
        prev_times, prev_found = timed(searches, previous_method)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX occurrence_route_span")
    # The legs only choose which departures are measured: the answers must be identical.
    differ = sum(
        [p.occurrence_id for p in a] != [p.occurrence_id for p in b]
        for a, b in zip(sql_found, prev_found, strict=True)
    )
    assert differ == 0, f"{differ} searches answer differently from the previous method"
    if explain_it:
        typical = sorted(range(len(searches)), key=lambda i: sql_times[i])[len(searches) // 2]
        sql, params = search_query(searches[typical])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
        out.line("")
        out.line(f"EXPLAIN (ANALYZE, BUFFERS) of a typical search (#{typical}, the median):")
        out.line(plan)
        out.line("")
    seq_searches = budgeted(searches, without_index)
    seq_times, seq_found = timed(seq_searches, without_index)
    scan_searches = budgeted(searches, lambda s: python_search(world, s, limit))
    scan_times, scan_found = timed(scan_searches, lambda s: python_search(world, s, limit))

    same = sum(
        {p.occurrence_id for p in sql} == set(scan)
        for sql, scan in zip(sql_found, scan_found, strict=False)
    )
    compared = len(scan_found)
    assert same >= compared * 0.8, "the query and the Python scan disagree"
    rows = [
        row("departures_matching() (GiST nd on leg boxes)", sql_times, sql_found),
        row("previous: GiST on whole routes route+span", prev_times, prev_found),
        row("same SQL, no index (sequential scan)", seq_times, seq_found),
        row("Python scan (shapely), all departures", scan_times, scan_found),
    ]
    agreement = (
        f"legs and previous method: identical answers for {len(searches) - differ} of"
        f" {len(searches)} searches; the query and the Python scan find the same"
        f" departures for {same} of {compared}"
        f" searches; {sum(1 for f in sql_found if f)} of {len(sql_found)} searches find some"
    )
    return rows, agreement


def budgeted(searches: Sequence[Search], call: Callable) -> Sequence[Search]:
    started = time.perf_counter()
    call(searches[0])
    each = time.perf_counter() - started
    return searches[: max(MIN_SCAN, min(len(searches), int(SCAN_SECONDS / max(each, 1e-6))))]


def timed(searches: Sequence[Search], call: Callable) -> tuple[list[float], list]:
    times, results = [], []
    for search in searches:
        started = time.perf_counter()
        result = call(search)
        times.append((time.perf_counter() - started) * 1000)
        results.append(result)
    return times, results


def row(name: str, times: Sequence[float], results: Sequence[Sequence]) -> tuple:
    return (
        name,
        len(times),
        f"{percentile(times, 50):.2f}",
        f"{percentile(times, 99):.2f}",
        f"{statistics.mean(len(r) for r in results):.1f}",
    )

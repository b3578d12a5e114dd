"""Benchmark: the candidate query of dispatch.matching at 1k, 10k, 100k and 1M drivers.

Synthetic drivers with weekly availability are spread around real Swedish localities
(tests/perf/synthetic.py) and loaded with COPY, growing 1k -> 10k -> 100k -> 1M, with
VACUUM ANALYZE after each step. At each size the same ride requests (near localities, at
weekday times in the next two weeks; fixed times, one-hour windows and "any weekday next
week") go to three methods, in the same run on the same data:

  a. `dispatch.matching.candidates()`: the real function, one SQL query (wall time around
     the call, after a warm-up);
  b. a plain Python scan over all drivers held in memory as tuples: association and car
     first, then the geodesic distance (geopy) and the radius, then the same availability
     rules as the query (`synthetic.python_fit`), then the same ranking;
  c. Redis GEOSEARCH over all home bases: `FROMLONLAT BYRADIUS 50 km ASC COUNT 20`, no
     association, car or availability filter at all (what a bare geo index gives).

It prints per size: p50/p99 in ms and the candidates returned (average), the machine, and
at 100k the plan of one typical query (EXPLAIN ANALYZE, BUFFERS). It checks that (a) and
(b) agree on most requests (the query orders by sphere distance, Python by geodesic, so
an occasional tie at the edge of the fetched set may differ) and fails when they do not.
It reports and never fails on speed.

    SAMBY_BENCH_SIZES=1000,10000  fewer sizes (default 1000,10000,100000,1000000)
    BENCH_DISPATCH_REQUESTS=200   ride requests per size
    BENCH_DISPATCH_SCAN_SECONDS   time budget per size for the Python scan (default 60 s:
                                  at 1M it runs fewer requests, and says how many)

Run with `make bench ARGS="-k dispatch"`. The report also goes to var/bench/dispatch.txt.
"""

import datetime as dt
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from geopy.distance import geodesic

from backend.db import prepared
from backend.rides.models import Need, RideRequest
from dispatch.matching import (
    CANDIDATE_PARAM_TYPES,
    FETCH_FACTOR,
    PLAN_SETTINGS,
    POSITION_FRESH,
    Candidate,
    candidate_query,
    candidates,
    run_candidate_sql,
    seats_needed,
    trip_length,
    weekly_candidate_query,
)
from dispatch.ranking import rank
from tests.perf.synthetic import Driver, World, python_fit

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

SIZES = [
    int(n) for n in os.environ.get("SAMBY_BENCH_SIZES", "1000,10000,100000,1000000").split(",")
]
REQUESTS = int(os.environ.get("BENCH_DISPATCH_REQUESTS", "200"))
SCAN_SECONDS = float(os.environ.get("BENCH_DISPATCH_SCAN_SECONDS", "60"))
WARM_UP = 20
MIN_SCAN_REQUESTS = 20
AGREEMENT_SAMPLE = 20
EXPLAIN_AT = 100_000
REDIS_KEY = "samby:bench:dispatch:drivers"
REDIS_RADIUS_KM = 50
LIMIT = 20
WAVE_LIMIT = 3
REPORT = Path(__file__).resolve().parents[2] / "var" / "bench" / "dispatch.txt"


def test_candidate_query_at_growing_sizes():
    out = Report()
    out.line("Dispatch candidate query: dispatch.matching.candidates() against baselines")
    out.line(f"sizes {SIZES}, {REQUESTS} ride requests per size, limit {LIMIT}")
    out.line("")
    out.line("Machine:")
    for name, value in machine_info():
        out.line(f"  {name}: {value}")
    world = World()
    world.create_associations()
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(REDIS_KEY)
    drivers: list[Driver] = []
    summary = []
    try:
        for size in sorted(SIZES):
            started = time.perf_counter()
            new = world.add_drivers(size - len(drivers))
            loaded = time.perf_counter() - started
            drivers += new
            started = time.perf_counter()
            World.vacuum_analyze()
            analyzed = time.perf_counter() - started
            started = time.perf_counter()
            windows = World.build_windows()
            built = time.perf_counter() - started
            started = time.perf_counter()
            geoadd(client, new)
            indexed = time.perf_counter() - started
            out.line("")
            out.line(
                f"== {size:,} drivers: COPY {loaded:.1f} s, VACUUM ANALYZE {analyzed:.1f} s,"
                f" windows {windows:,} in {built:.1f} s, GEOADD {indexed:.1f} s; {table_sizes()}"
            )
            requests = world.ride_requests(REQUESTS, seed=size)
            rows, agreement = measure(size, drivers, requests, client, out)
            out.table(["method", "requests", "p50 ms", "p99 ms", "candidates (avg)"], rows)
            out.line(agreement)
            summary.append((size, rows))
        out.line("")
        out.table(
            ["drivers", *(f"{row[0]} p50/p99 ms" for row in summary[0][1])],
            [(f"{size:,}", *(f"{row[2]} / {row[3]}" for row in rows)) for size, rows in summary],
            title="Summary",
        )
        out.line(f"load average at the end: {load_average()}")
    finally:
        client.delete(REDIS_KEY)
        client.close()
        out.save()


def measure(size, drivers, requests, client, out) -> tuple[list, str]:
    # a. The query, through the real function.
    for ride in requests[:WARM_UP]:
        candidates(ride)
    sql_times, sql_found = timed(requests, lambda ride: candidates(ride, limit=LIMIT))
    # a2. What a dispatch wave asks: limit RIDES_OFFER_WAVE_SIZE (3 ranked of 9 fetched).
    wave_times, wave_found = timed(requests, lambda ride: candidates(ride, limit=WAVE_LIMIT))
    # a3. The same question without the materialised windows (the weekly query, which
    # candidates() uses for dates outside the horizon): the method before them, and a
    # check that both give the same answer on every request.
    for ride in requests[:WARM_UP]:
        weekly_candidates(ride)
    weekly_times, weekly_found = timed(requests, weekly_candidates)
    same = sum(
        [(c.driver_id, c.pickup_at, c.distance_m) for c in fast]
        == [(c.driver_id, c.pickup_at, c.distance_m) for c in weekly]
        for fast, weekly in zip(sql_found, weekly_found, strict=True)
    )
    if size == EXPLAIN_AT:
        typical = sorted(range(len(requests)), key=lambda i: sql_times[i])[len(requests) // 2]
        out.line("")
        out.line(f"EXPLAIN (ANALYZE, BUFFERS) of a typical request (#{typical}, the median):")
        out.line(explain(requests[typical]))
        out.line("")

    # b. The plain Python scan, within its time budget.
    started = time.perf_counter()
    python_candidates(drivers, requests[0])
    each = time.perf_counter() - started
    scan_count = max(MIN_SCAN_REQUESTS, min(REQUESTS, int(SCAN_SECONDS / max(each, 1e-6))))
    scan_requests = requests[:scan_count]
    scan_times, scan_found = timed(scan_requests, lambda ride: python_candidates(drivers, ride))

    # c. Redis GEOSEARCH, no filters but the radius.
    def geosearch(ride):
        return client.geosearch(
            REDIS_KEY,
            longitude=ride.pickup.x,
            latitude=ride.pickup.y,
            radius=REDIS_RADIUS_KM,
            unit="km",
            sort="ASC",
            count=LIMIT,
        )

    for ride in requests[:WARM_UP]:
        geosearch(ride)
    redis_times, redis_found = timed(requests, geosearch)

    agreeing = sum(
        [(c.driver_id, c.pickup_at) for c in sql] == [(c.driver_id, c.pickup_at) for c in scan]
        for sql, scan in zip(sql_found[:AGREEMENT_SAMPLE], scan_found, strict=False)
    )
    compared = min(AGREEMENT_SAMPLE, len(scan_found))
    assert agreeing >= compared * 0.9, "the query and the Python scan disagree"
    assert same >= len(requests) * 0.95, "the window and weekly queries disagree"
    rows = [
        row(f"candidates() limit {LIMIT} (windows, 1 query)", sql_times, sql_found),
        row(f"candidates() limit {WAVE_LIMIT} (a dispatch wave)", wave_times, wave_found),
        row(f"weekly query limit {LIMIT} (no windows)", weekly_times, weekly_found),
        row("Python scan (geopy)", scan_times, scan_found),
        row(f"Redis GEOSEARCH {REDIS_RADIUS_KM} km, no filters", redis_times, redis_found),
    ]
    agreement = (
        f"query and Python scan return the same candidates and pickup times for"
        f" {agreeing} of {compared} requests; window and weekly queries the same candidates,"
        f" pickup times and distances for {same} of {len(requests)}"
    )
    return rows, agreement


def timed(requests, call: Callable) -> tuple[list[float], list]:
    times, results = [], []
    for ride in requests:
        started = time.perf_counter()
        result = call(ride)
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


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered)))) - 1]


# --- Baselines -------------------------------------------------------------------------


def python_candidates(drivers: Sequence[Driver], ride: RideRequest) -> list[Candidate]:
    """The same answer as candidates(), by scanning every driver in Python."""
    trip = trip_length(ride)
    seats = seats_needed(ride)
    wheelchair = Need.WHEELCHAIR in ride.needs
    walker = Need.WALKER in ride.needs
    guide_dog = Need.GUIDE_DOG in ride.needs
    here = (ride.pickup.y, ride.pickup.x)
    fresh_since = dt.datetime.now(tz=dt.UTC) - POSITION_FRESH
    found = []
    for driver in drivers:
        if driver.association_id != ride.association_id or not driver.eligible:
            continue
        if driver.seats < seats or (wheelchair and not driver.wheelchair):
            continue
        if (walker and not driver.walker) or (guide_dog and not driver.guide_dog):
            continue
        from_home = geodesic(here, (driver.lat, driver.lon)).meters
        if from_home > driver.radius_m:
            continue
        pickup_at = python_fit(driver, ride, trip)
        if pickup_at is None:
            continue
        metres = from_home
        if driver.position and driver.position_at and driver.position_at > fresh_since:
            lon, lat = driver.position
            metres = geodesic(here, (lat, lon)).meters
        found.append((from_home, metres, driver, pickup_at))
    found.sort(key=lambda f: f[0])
    return rank(
        Candidate(
            driver_id=driver.id,
            distance_m=round(metres),
            pickup_at=pickup_at,
            recent_rides=driver.recent_rides,
        )
        for _, metres, driver, pickup_at in found[: LIMIT * FETCH_FACTOR]
    )[:LIMIT]


def weekly_candidates(ride: RideRequest) -> list[Candidate]:
    """candidates() through the weekly query (as for dates outside the windows)."""
    with connection.cursor() as cursor:
        sql, params = weekly_candidate_query(ride, limit=LIMIT)
        rows = run_candidate_sql(cursor, sql, params, prepare=False)
    return rank(
        Candidate(driver_id=r[0], distance_m=r[1], pickup_at=r[2], recent_rides=r[3]) for r in rows
    )[:LIMIT]


def geoadd(client: redis.Redis, drivers: Sequence[Driver], chunk: int = 10_000) -> None:
    with client.pipeline(transaction=False) as pipe:
        for start in range(0, len(drivers), chunk):
            values: list = []
            for driver in drivers[start : start + chunk]:
                values += [driver.lon, driver.lat, driver.id]
            pipe.geoadd(REDIS_KEY, values)
        pipe.execute()


# --- Reporting ---------------------------------------------------------------------------


def explain(ride: RideRequest) -> str:
    """The plan candidates() runs: the prepared statement's generic plan, with the same
    settings."""
    candidates(ride, limit=LIMIT)  # prepares the statement on this connection
    sql, params = candidate_query(ride, limit=LIMIT)
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in PLAN_SETTINGS:
            cursor.execute(f"SET LOCAL {name} = {value}")
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) " + prepared(sql, params, CANDIDATE_PARAM_TYPES).execute,
            params,
        )
        return "\n".join(line for (line,) in cursor.fetchall())


def table_sizes() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('rides_driverprofile')),"
            " pg_size_pretty(pg_total_relation_size('rides_availabilityslot')),"
            " (SELECT count(*) FROM rides_availabilityslot),"
            " pg_size_pretty(pg_total_relation_size('rides_availabilitywindow'))"
        )
        profiles, slots, slot_count, windows = cursor.fetchone()
    return f"driver profiles {profiles}, {slot_count:,} slots {slots}, windows {windows}"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_info() -> list[tuple[str, str]]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        mem_kib = next(int(line.split()[1]) for line in info if line.startswith("MemTotal:"))
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SELECT postgis_lib_version()")
        postgis = cursor.fetchone()[0]
        pg_settings = []
        for name in ("shared_buffers", "work_mem", "random_page_cost", "jit"):
            cursor.execute(f"SHOW {name}")
            pg_settings.append(f"{name}={cursor.fetchone()[0]}")
        cursor.execute("SHOW max_parallel_workers_per_gather")
        pg_settings.append(f"max_parallel_workers_per_gather={cursor.fetchone()[0]}")
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        redis_version = client.info("server")["redis_version"]
    finally:
        client.close()
    return [
        ("CPUs (nproc)", str(len(os.sched_getaffinity(0)))),
        ("CPU", cpu),
        ("RAM", f"{mem_kib / 1024 / 1024:.1f} GiB"),
        ("PostgreSQL", postgres),
        ("PostGIS", postgis),
        ("PostgreSQL settings", ", ".join(pg_settings)),
        ("Redis", redis_version),
        ("Python", platform.python_version()),
        ("psycopg, geopy", f"{metadata.version('psycopg')}, {metadata.version('geopy')}"),
        ("load average at the start", load_average()),
    ]


class Report:
    """Printed as it goes (run with -s) and saved to var/bench/dispatch.txt."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence], title: str = "") -> None:
        cells = [[str(h) for h in headers], *[[str(v) for v in r] for r in rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

        def fmt(r: list[str]) -> str:
            return "  ".join(
                v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(r)
            ).rstrip()

        if title:
            self.line(title)
        self.line(fmt(cells[0]))
        self.line("  ".join("-" * w for w in widths))
        for r in cells[1:]:
            self.line(fmt(r))

    def save(self) -> None:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text("\n".join(self.lines) + "\n", encoding="utf-8")

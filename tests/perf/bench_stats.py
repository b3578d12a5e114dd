"""Benchmark: the statistics dashboard over one year of a municipality with 100k rides
and 50k bookings.

Data, generated in SQL (INSERT ... SELECT over generate_series, seeded): municipality
"Benchby" with 12 villages and 3 associations, 4,000 riders (born 1925-2005, one in
eight with a managed profile) who each live in a village (one ride in ten starts in
another), 60 drivers, BENCH_STATS_RIDES (default 100,000) ride
requests over 2025 (72 % completed, 9 % not served, 14 % cancelled, 5 % no-show) with
their events (requested, accepted, en route, closed: about 370k rows);
BENCH_STATS_BOOKINGS (default 50,000) bookings over 2025: 48 % carpool seat bookings on
departures, 32 % loans of shared cars, tools and rooms and 20 % shop-run sign-ups (see
`stats_bookings.py`); and a second municipality with a quarter as many rides and
bookings, which must not count. Then VACUUM ANALYZE.

Measured, in the same run on the same data:

  a. the summary: a full rebuild (`stats_refresh(full=True)`), and an incremental
     refresh after 200 rides changed;
  b. page data: `stats_dashboard()` for the whole year, by month (the default page:
     village, association and service tables with the privacy rule, the monthly series,
     the unmet-demand cells): p50 / p95 / p99 over BENCH_STATS_SAMPLES runs, each computed
     afresh (the cache emptied before each run); the same with a village filter, and by
     week; and from the cache (what every view after the first gets until the next
     refresh of the summary);
  c. baseline: the same figures (sums, distinct people, median waiting time; by village,
     association, service and month; the unserved pickups) aggregated directly from the
     raw rows of every service (rides joined with people and events, seat bookings with
     departures and trips, loans with resources, sign-ups with runs, schedules and
     cars), without the summary table and without the privacy rule; this is the figure
     the summary is measured against, in the same run;
  d. the whole page: GET /stats/ through Django (rendering, SVG) as the analyst,
     computed afresh and cached.

It checks that the summary and the raw aggregation give the same totals. It reports and
never fails on speed. BENCH_STATS_PROFILE=1 also prints the slowest statements of one
computed dashboard and a pyinstrument profile of it. Run with
`make bench ARGS="-k stats"`; the report also goes to var/bench/stats.txt.
"""

# The generating and baseline statements are built from constants of this module.
# ruff: noqa: S608

import datetime as dt
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.cache import cache
from django.db import connection
from django.test import Client

from backend.community.models import MunicipalityAnalyst
from backend.stats.refresh import stats_refresh
from backend.stats.selectors import stats_dashboard, stats_query
from backend.stats.sources import SOURCES
from tests.factories import (
    AssociationFactory,
    DriverProfileFactory,
    MunicipalityFactory,
    UserFactory,
    VillageFactory,
)
from tests.perf.stats_bookings import build_bookings

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

RIDES = int(os.environ.get("BENCH_STATS_RIDES", "100000"))
BOOKINGS = int(os.environ.get("BENCH_STATS_BOOKINGS", "50000"))
SAMPLES = int(os.environ.get("BENCH_STATS_SAMPLES", "30"))
RIDERS = 4000
YEAR = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
CENTER = (14.2, 60.5)

_USERS_SQL = """
INSERT INTO accounts_user (password, is_superuser, full_name, phone, email,
    preferred_language, contact_by_sms, contact_by_email, contact_by_push, home_address,
    birth_year, is_managed, is_active, is_staff, date_joined)
SELECT CASE WHEN i %% 8 = 0 THEN '!managed' ELSE '!x' END, false, 'Rider ' || i,
    CASE WHEN i %% 8 = 0 THEN '' ELSE '+4676' || lpad((%(offset)s + i)::text, 7, '0') END,
    '', 'sv', true, false, false, '', 1925 + (i * 37) %% 81, i %% 8 = 0, true, false, now()
FROM generate_series(1, %(count)s) i
RETURNING id
"""

# One ride per row of generate_series; random() after setseed() is repeatable.
_RIDES_SQL = """
INSERT INTO rides_riderequest (rider_id, requested_by_id, association_id, village_id,
    pickup, pickup_address, destination, destination_address, time_kind,
    earliest_pickup, latest_pickup, passengers, needs, note, distance_m, duration_s, state,
    driver_id, planned_pickup, busy, wave, created_at, accepted_at, closed_at, driven_m)
SELECT rider, rider, v.association_id, v.village_id,
    ST_SetSRID(ST_MakePoint(v.lon + (random() - 0.5) * 0.2, v.lat + (random() - 0.5) * 0.1),
        4326)::geography,
    '', ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, '', 'pickup_at',
    at, at, 1 + (random() < 0.15)::int, '{}', '', dist, dist / 12, st,
    CASE WHEN st IN ('completed', 'no_show')
        THEN (%(drivers)s::bigint[])[1 + (n %% %(driver_count)s)] END,
    CASE WHEN st IN ('completed', 'no_show') THEN at END,
    CASE WHEN st = 'completed' THEN tstzrange(at, at + make_interval(secs => dist / 12 + 300)) END,
    1, at - interval '2 days',
    CASE WHEN st IN ('completed', 'no_show') OR (st = 'cancelled' AND random() < 0.3)
        THEN at - interval '2 days' + make_interval(mins => (random() * 240)::int) END,
    at + interval '40 minutes',
    CASE WHEN st = 'completed' THEN dist + (random() * 3000)::int END
FROM (
    SELECT n, %(riders)s::bigint[] AS riders,
        timestamptz %(start)s + make_interval(mins => (random() * 525600)::int) AS at,
        2000 + (random() * 40000)::int AS dist,
        CASE WHEN r < 0.72 THEN 'completed' WHEN r < 0.81 THEN 'unfulfilled'
             WHEN r < 0.95 THEN 'cancelled' ELSE 'no_show' END AS st,
        (random() * 1000000)::int AS pick
    FROM (SELECT n, random() AS r FROM generate_series(1, %(count)s) n) s
) g
CROSS JOIN LATERAL (SELECT (g.riders)[1 + (g.pick %% array_length(g.riders, 1))] AS rider) p
-- A rider lives in one village; one ride in ten starts in another (visiting, shopping).
JOIN %(villages_table)s v ON v.slot = CASE WHEN g.pick %% 10 = 0 THEN g.n ELSE p.rider END
    %% %(village_count)s
"""

_EVENTS_SQL = """
INSERT INTO rides_rideevent (ride_id, from_state, to_state, reason, at)
SELECT id, '', 'requested', '', created_at FROM rides_riderequest WHERE association_id = ANY(%(a)s)
UNION ALL
SELECT id, 'offering', 'accepted', '', accepted_at FROM rides_riderequest
    WHERE association_id = ANY(%(a)s) AND accepted_at IS NOT NULL
UNION ALL
SELECT id, 'accepted', 'en_route', '', earliest_pickup - interval '15 minutes'
    FROM rides_riderequest WHERE association_id = ANY(%(a)s) AND state = 'completed'
UNION ALL
SELECT id, '', state, '', closed_at FROM rides_riderequest WHERE association_id = ANY(%(a)s)
"""


def _build_municipality(
    name: str, code: str, rides: int, bookings: int, offset: int, cursor
) -> object:
    lon, lat = CENTER if code == "9901" else (CENTER[0] + 1, CENTER[1] + 0.5)
    municipality = MunicipalityFactory(
        name=name,
        code=code,
        boundary=MultiPolygon(Polygon.from_bbox((lon - 1, lat - 1, lon + 1, lat + 1)), srid=4326),
    )
    associations = [
        AssociationFactory(name=f"{name} förening {n}", municipality=municipality) for n in range(3)
    ]
    villages = []
    for n in range(12):
        v_lon, v_lat = lon + (n % 4 - 1.5) * 0.15, lat + (n // 4 - 1) * 0.08
        village = VillageFactory(
            name=f"{name} by {n}", municipality=municipality, location=Point(v_lon, v_lat)
        )
        # Services without a village of their own (loans, some bookings) take the
        # association's village nearest to them.
        associations[n % 3].villages.add(village)
        villages.append((n, village.pk, associations[n % 3].pk, v_lon, v_lat))
    drivers = [
        DriverProfileFactory(membership__association=associations[n % 3]).pk for n in range(60)
    ]
    driver_associations = [(pk, associations[n % 3].pk) for n, pk in enumerate(drivers)]
    cursor.execute(_USERS_SQL, {"count": RIDERS, "offset": offset})
    riders = [row[0] for row in cursor.fetchall()]
    cursor.execute("DROP TABLE IF EXISTS bench_villages")
    cursor.execute(
        "CREATE TEMP TABLE bench_villages (slot int, village_id bigint, association_id bigint,"
        " lon float, lat float)"
    )
    cursor.executemany("INSERT INTO bench_villages VALUES (%s, %s, %s, %s, %s)", villages)
    cursor.execute(
        _RIDES_SQL.replace("%(villages_table)s", "bench_villages"),
        {
            "riders": riders,
            "drivers": drivers,
            "driver_count": len(drivers),
            "village_count": len(villages),
            "count": rides,
            "start": YEAR[0].isoformat() + " 00:00+01",
            "lon": lon,
            "lat": lat,
        },
    )
    cursor.execute(_EVENTS_SQL, {"a": [a.pk for a in associations]})
    build_bookings(
        cursor,
        riders=riders,
        drivers=driver_associations,
        count=bookings,
        village_count=len(villages),
        start=YEAR[0].isoformat() + " 00:00+01",
        center=(lon, lat),
    )
    return municipality


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def timed(function: Callable[[], object], samples: int, *, cold: bool = False) -> list[float]:
    """Wall times in ms; `cold` empties the cache (outside the timing) before each run."""
    function()  # warm-up
    out = []
    for _ in range(samples):
        if cold:
            cache.clear()
        started = time.perf_counter()
        function()
        out.append((time.perf_counter() - started) * 1000)
    return out


# Every service's facts, with the service table's key (service, or service:kind).
FACTS_SQL = " UNION ALL ".join(
    f"SELECT f.*, CASE WHEN f.kind = '' THEN '{source.service}'"
    f" ELSE '{source.service}:' || f.kind END AS service FROM ({source.facts_sql}) f"
    for source in SOURCES
)

_BASELINE_TABLE = """
WITH f AS (
    SELECT f.*, {key} AS key FROM ({facts}) f
    WHERE f.municipality_id = %(m)s AND f.day BETWEEN %(start)s AND %(end)s
)
SELECT key, GROUPING(key),
    count(*), count(*) FILTER (WHERE fulfilled), count(*) FILTER (WHERE unfulfilled),
    count(*) FILTER (WHERE cancelled), count(*) FILTER (WHERE no_show),
    sum(passengers) FILTER (WHERE fulfilled), sum(vehicle_m) FILTER (WHERE fulfilled),
    sum(passenger_m) FILTER (WHERE fulfilled), sum(volunteer_s) FILTER (WHERE fulfilled),
    sum(usage_s) FILTER (WHERE fulfilled),
    count(DISTINCT person_id), count(DISTINCT person_id) FILTER (WHERE fulfilled),
    count(DISTINCT person_id) FILTER (WHERE fulfilled AND elderly),
    count(DISTINCT person_id) FILTER (WHERE fulfilled AND managed),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY accept_delay_s)
FROM f GROUP BY GROUPING SETS ((key), ())
"""


def baseline(municipality) -> dict:
    """The dashboard's figures straight from the raw rows (no summary, no privacy)."""
    params = {
        "m": municipality.pk,
        "start": YEAR[0],
        "end": YEAR[1],
        "tz": settings.TIME_ZONE,
        "elderly_age": settings.STATS_ELDERLY_AGE,
    }
    out = {}
    with connection.cursor() as cursor:
        for name, key in (
            ("village", "f.village_id"),
            ("association", "f.association_id"),
            ("service", "f.service"),
            ("period", "date_trunc('month', f.day)::date"),
        ):
            cursor.execute(_BASELINE_TABLE.format(key=key, facts=FACTS_SQL), params)
            out[name] = cursor.fetchall()
        cursor.execute(
            f"SELECT lon, lat, person_id FROM ({FACTS_SQL}) f WHERE f.municipality_id = %(m)s"
            " AND f.day BETWEEN %(start)s AND %(end)s AND f.unfulfilled",
            params,
        )
        out["unmet"] = cursor.fetchall()
    return out


def test_dashboard_page_data_over_a_year():
    report = Report()
    load_at_start = os.getloadavg()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.20260329)")
        town = _build_municipality("Benchby", "9901", RIDES, BOOKINGS, 0, cursor)
        _build_municipality("Andraby", "9902", RIDES // 4, BOOKINGS // 4, RIDERS, cursor)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM rides_riderequest")
        ride_count = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM rides_rideevent")
        event_count = cursor.fetchone()[0]
        cursor.execute(
            "SELECT (SELECT count(*) FROM carpool_booking), (SELECT count(*) FROM sharing_booking),"
            " (SELECT count(*) FROM shuttle_runsignup)"
        )
        seat_count, loan_count, signup_count = cursor.fetchone()
    generated = time.perf_counter() - started

    started = time.perf_counter()
    stats_refresh(full=True)
    full_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE stats_dailyfigures")
        cursor.execute("SELECT count(*) FROM stats_dailyfigures")
        summary_rows = cursor.fetchone()[0]
        # 200 rides change now: their events say so.
        cursor.execute(
            "UPDATE rides_rideevent SET at = now() WHERE id IN (SELECT id FROM rides_rideevent"
            " WHERE to_state = 'requested' ORDER BY id LIMIT 200)"
        )
    started = time.perf_counter()
    # Every service looks for changes; only the rides changed.
    incremental = stats_refresh()
    incremental_ms = (time.perf_counter() - started) * 1000
    recomputed = sum(max(result.keys, 0) for result in incremental)

    query = stats_query(municipality=town, start=YEAR[0], end=YEAR[1], granularity="month")
    village = town.villages.order_by("pk").first()
    by_village = stats_query(
        municipality=town, start=YEAR[0], end=YEAR[1], villages=[village.pk], granularity="month"
    )
    by_week = stats_query(municipality=town, start=YEAR[0], end=YEAR[1], granularity="week")
    dashboard = stats_dashboard(query=query)
    raw = baseline(town)
    raw_total = next(row for row in raw["village"] if row[1] == 1)
    published = dashboard.total.figures
    assert published["requests"] == raw_total[2] and published["fulfilled"] == raw_total[3]
    assert published["people_requesting"] == raw_total[12]
    assert published["median_minutes_to_accept"] == round(raw_total[16] / 60, 1)
    # Every service has data here; none is withheld.
    published_services = {
        row.key: row.figures["requests"]
        for row in dashboard.services.rows
        if row.figures["requests"]
    }
    raw_services = {row[0]: row[2] for row in raw["service"] if row[1] == 0}
    assert published_services == raw_services, (published_services, raw_services)

    analyst = UserFactory(full_name="Bench Analyst")
    MunicipalityAnalyst.objects.create(user=analyst, municipality=town)
    client = Client()
    client.force_login(analyst)
    page_params = {"start": YEAR[0].isoformat(), "end": YEAR[1].isoformat(), "granularity": "month"}
    assert client.get("/stats/", page_params).status_code == 200

    if os.environ.get("BENCH_STATS_PROFILE"):
        from django.test.utils import CaptureQueriesContext

        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            stats_dashboard(query=query)
        for q in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:8]:
            print(q["time"], q["sql"][:300].replace("\n", " "))
        print("queries", len(captured.captured_queries))
        # Where the Python side of a computed run goes (the statements show as waits).
        from pyinstrument import Profiler

        cache.clear()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        stats_dashboard(query=query)
        profiler.stop()
        print(profiler.output_text(color=False))
    rows = []
    for name, function, cold in (
        ("stats_dashboard(): year by month", lambda: stats_dashboard(query=query), True),
        ("stats_dashboard(): one village", lambda: stats_dashboard(query=by_village), True),
        ("stats_dashboard(): year by week", lambda: stats_dashboard(query=by_week), True),
        ("baseline: raw rows, same figures", lambda: baseline(town), True),
        ("GET /stats/ (whole page)", lambda: client.get("/stats/", page_params), True),
        ("stats_dashboard(): year, cached", lambda: stats_dashboard(query=query), False),
        ("GET /stats/, cached", lambda: client.get("/stats/", page_params), False),
    ):
        samples = SAMPLES if "baseline" not in name else max(5, SAMPLES // 3)
        times = timed(function, samples, cold=cold)
        rows.append([name, samples, *(f"{percentile(times, pct):.1f}" for pct in (50, 95, 99))])

    report.line("")
    report.line(f"Statistics dashboard, {ride_count:,} rides ({RIDES:,} in the measured")
    report.line(
        f"municipality), {event_count:,} ride events, {seat_count:,} carpool seat bookings and"
        f" {loan_count:,} loans, {signup_count:,} shop-run sign-ups ({BOOKINGS:,} bookings in"
        " the measured municipality);"
        f" data generated in {generated:.1f} s"
    )
    report.line(
        f"summary: full rebuild {full_s:.1f} s -> {summary_rows:,} rows; incremental after"
        f" 200 changed rides: {incremental_ms:.0f} ms ({recomputed} days recomputed)"
    )
    report.table(["page data", "runs", "p50 ms", "p95 ms", "p99 ms"], rows)
    report.line(
        f"published total: {published['requests']:,} requests, {published['people_served']:,}"
        f" people served, median wait {published['median_minutes_to_accept']} min"
        " (equal to the raw aggregation)"
    )
    for row in dashboard.services.rows:
        figures = row.figures
        if not figures["requests"]:
            continue
        report.line(
            f"  {row.key}: {figures['requests']:,} requests, {figures['fulfilled']:,} carried"
            f" out, {figures['passengers']:,} passengers, {figures['usage_hours']:,} hours in use"
        )
    report.line(f"load average at the start: {' '.join(f'{x:.2f}' for x in load_at_start)}")
    report.line(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report.line(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python"
        f" {platform.python_version()}, PostgreSQL {connection.pg_version}"
    )
    report.save("stats.txt")


class Report:
    """Printed as it goes (run with -s) and saved to var/bench/stats.txt."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence]) -> None:
        cells = [[str(h) for h in headers], *[[str(v) for v in r] for r in rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

        def fmt(r: list[str]) -> str:
            return "  ".join(
                v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(r)
            ).rstrip()

        self.line(fmt(cells[0]))
        self.line("  ".join("-" * w for w in widths))
        for r in cells[1:]:
            self.line(fmt(r))

    def save(self, name: str) -> None:
        path = Path(settings.BASE_DIR) / "var" / "bench" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n")

"""Benchmarks for shared cars, tools and rooms.

1. **100 concurrent bookings of one slot, against the running server.** uvicorn serves
   `backend.asgi:application` (2 workers) on the test database; 100 people, each with
   their own API token, POST `/api/v1/sharing/resources/<id>/bookings` for the same car
   and the same two hours from 100 threads released together by a barrier. Exactly one
   must get 201 and 99 must get 409 `booking_overlap`, and the database must hold one
   booking (the benchmark fails otherwise). Baseline in the same run: 100 concurrent
   bookings of 100 different cars (no conflict), so the cost of losing the race shows.

2. **Search "available near me in a period" over 100k resources and 1M bookings.**
   Resources are scattered around real Swedish localities (tests/perf/data, GeoNames),
   ten bookings each (1M rows, 80 % confirmed, 10 % cancelled, 10 % returned) over the
   next four weeks, generated inside PostgreSQL with INSERT ... SELECT (through the
   exclusion constraint). Each request picks a locality, a radius of 10 km, a period of
   1-6 hours in the next four weeks and a kind one time in three. Three methods on the
   same data and requests:

   a. `resources_available_near()`: the real selector, one SQL statement run through
      `Resource.objects.raw` (the availability test is the exclusion constraint's own range
      expression, so its GiST index answers it);
   a'. the same SQL executed and fetched with a cursor, no model objects: the database's
      share of (a);
   b. the same search built with the ORM (`Exists` over the plain columns
      `starts_at < end AND blocked_until > start`, `Distance`), as a first version would
      write it;
   c. the naive way: the resources near the point, then one query per resource to ask
      whether it is free (N+1).

   The methods take turns on each request (the order rotates), so a busy moment of the
   machine falls on all of them alike.
   It checks that all methods return the same resources, and prints p50/p99 and the
   plan of a typical query (a). It reports and never fails on speed.

    BENCH_SHARING_RESOURCES=100000   resources (default 100,000; bookings are 10 each)
    BENCH_SHARING_REQUESTS=300       search requests
    BENCH_SHARING_PARTS=search       only one part (server, search)
    BENCH_SHARING_POOL=10            database connections per server worker

Run with `make bench ARGS="-k sharing"`. The report also goes to var/bench/sharing.txt.
"""

import contextlib
import datetime as dt
import os
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db import DatabaseError, connection
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    Value,
)
from django.utils import timezone
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from backend.community.models import Association, Membership, Municipality
from backend.sharing.models import HOLDING, Booking, Resource
from backend.sharing.selectors import (
    MINUTE,
    resources_available_near,
    resources_available_near_query,
)
from tests.factories import VANSBRO_BOX
from tests.perf._servers import (
    AsgiServer,
    backend_cpu_seconds,
    current_database_url,
    machine_info,
    percentile,
    table,
)
from tests.perf.synthetic import localities

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

RESOURCES = int(os.environ.get("BENCH_SHARING_RESOURCES", "100000"))
BOOKINGS_PER_RESOURCE = 10
REQUESTS = int(os.environ.get("BENCH_SHARING_REQUESTS", "300"))
ATTEMPTS = 100
POOL = int(os.environ.get("BENCH_SHARING_POOL", "10"))  # connections per server worker
PARTS = os.environ.get("BENCH_SHARING_PARTS", "server,search").split(",")
RADIUS_M = 10_000
LIMIT = 20
WARM_UP = 20
ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "var" / "bench" / "sharing.txt"


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def save(self) -> None:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text("\n".join(self.lines) + "\n")


def test_sharing_benchmarks():
    out = Report()
    out.line("Shared resources: concurrent booking of one slot, search available near me")
    out.line(table(["", ""], machine_info(), "Machine", numeric=False))
    try:
        if "server" in PARTS:
            concurrent_bookings(out)
        if "search" in PARTS:
            search(out)
        out.line(f"Load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        out.save()


# --- 1. Concurrent bookings through the server ------------------------------------------------


def _world() -> Association:
    municipality = Municipality.objects.create(name="Bench", code="9999", boundary=VANSBRO_BOX)
    return Association.objects.create(name="Bilpoolen", municipality=municipality)


def _car(association: Association, n: int) -> Resource:
    return Resource(
        association=association,
        kind="car",
        category="car",
        title=f"Bil {n}",
        location=Point(14.22 + n * 0.001, 60.5, srid=4326),
        seats=5,
        fuel="electric",
        odometer_km=1000,
        buffer_minutes=30,
    )


def _fire(
    base_url: str, jobs: list[tuple[str, str, dict]]
) -> tuple[list[tuple[int, float]], float]:
    """POST every job from its own thread, all released at once; (status, ms) each and
    the wall time from release until the last answer."""
    import json

    barrier = threading.Barrier(len(jobs) + 1)
    results: list[tuple[int, float]] = [(0, 0.0)] * len(jobs)

    def run(index: int, token: str, path: str, body: dict) -> None:
        request = urllib.request.Request(  # noqa: S310 - our own server
            base_url + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            method="POST",
        )
        barrier.wait()
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                code = response.status
        except urllib.error.HTTPError as error:
            code = error.code
        results[index] = (code, (time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=run, args=(i, *job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def concurrent_bookings(out: Report) -> None:
    association = _world()
    people = User.objects.bulk_create(
        [User(full_name=f"Person {i}", phone=f"+4670990{i:04d}") for i in range(ATTEMPTS)]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=p, association=association, roles=["member"], state="active")
            for p in people
        ]
    )
    tokens = [Token.objects.create(user=p).key for p in people]
    cars = Resource.objects.bulk_create([_car(association, n) for n in range(ATTEMPTS + 1)])
    day = timezone.localdate() + dt.timedelta(days=3)
    start = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    body = {"starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=2)).isoformat()}
    rows = []
    server = AsgiServer(
        workers=2,
        log_path=ROOT / "var" / "bench" / "sharing-server.log",
        database_url=current_database_url(),
    )
    # Each request in flight would hold its own connection; PostgreSQL allows 100 in all.
    server.env["DATABASE_POOL_MAX_SIZE"] = str(POOL)
    with server:
        same = [
            (tokens[i], f"/api/v1/sharing/resources/{cars[0].pk}/bookings", body)
            for i in range(ATTEMPTS)
        ]
        same_results, same_wall = _fire(server.base_url, same)
        spread = [
            (tokens[i], f"/api/v1/sharing/resources/{cars[i + 1].pk}/bookings", body)
            for i in range(ATTEMPTS)
        ]
        spread_results, spread_wall = _fire(server.base_url, spread)
    for name, results, wall in (
        ("same car, same slot", same_results, same_wall),
        ("baseline: 100 different cars", spread_results, spread_wall),
    ):
        codes = [code for code, _ms in results]
        times = [ms for _code, ms in results]
        rows.append(
            (
                name,
                len(results),
                codes.count(201),
                codes.count(409),
                len(results) - codes.count(201) - codes.count(409),
                f"{wall:.2f}",
                f"{percentile(times, 50):.0f}",
                f"{percentile(times, 99):.0f}",
            )
        )
    out.line("")
    out.line(
        table(
            [
                "requests at once",
                "n",
                "201",
                "409",
                "other",
                "all answered (s)",
                "p50 ms",
                "p99 ms",
            ],
            rows,
            f"== 1. 100 concurrent POST .../sharing/resources/<id>/bookings, uvicorn --workers 2,"
            f" pool of {POOL} connections per worker ==",
        )
    )
    stored = Booking.objects.filter(resource=cars[0]).count()
    out.line(f"bookings stored for the contested car: {stored}")
    assert [code for code, _ in same_results].count(201) == 1
    assert [code for code, _ in same_results].count(409) == ATTEMPTS - 1
    assert stored == 1
    assert [code for code, _ in spread_results].count(201) == ATTEMPTS


# --- 2. Search ----------------------------------------------------------------------------


def _generate(association_ids: list[int], user_ids: list[int], now: dt.datetime) -> None:
    places = localities()
    # Only the generated resources get generated bookings (part 1 left some of its own).
    after = Resource.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_place (n int, lon float8, lat float8)")
        with cursor.copy("COPY bench_place (n, lon, lat) FROM STDIN") as copy:
            for n, place in enumerate(places):
                copy.write_row((n, place.lon, place.lat))
        cursor.execute("SELECT setseed(0.42)")
        # Resources: around a locality, a gaussian few km off (Box-Muller).
        cursor.execute(
            """
            INSERT INTO sharing_resource (
                association_id, kind, category, title, description, location,
                pickup_instructions, rules, deposit_ore, price_per_hour_ore, price_per_day_ore,
                price_per_km_ore, approval_mode, requires_clearance, min_minutes, max_minutes,
                buffer_minutes, active, out_of_service, seats, fuel, odometer_km, key_location,
                created_at)
            SELECT (%(associations)s::bigint[])[1 + (i %% cardinality(%(associations)s::bigint[]))],
                   k.kind, k.category, k.category || ' ' || i, '',
                   ST_SetSRID(ST_MakePoint(
                       p.lon + d.dx / (111.32 * cos(radians(p.lat))),
                       p.lat + d.dy / 111.32), 4326)::geography,
                   '', '', 0, 2000, 0, CASE WHEN k.kind = 'car' THEN 150 ELSE 0 END,
                   'automatic', false, 60, 7 * 24 * 60,
                   CASE WHEN i %% 4 = 0 THEN 30 ELSE 0 END,
                   i %% 50 <> 0, i %% 97 = 0,
                   CASE WHEN k.kind = 'car' THEN 5 END,
                   CASE WHEN k.kind = 'car' THEN 'electric' ELSE '' END,
                   CASE WHEN k.kind = 'car' THEN 10000 END, '', now()
            FROM generate_series(1, %(count)s) AS i
            CROSS JOIN LATERAL (SELECT floor(random() * %(places)s)::int + i * 0 AS n) AS pick
            JOIN bench_place AS p ON p.n = pick.n
            CROSS JOIN LATERAL (
                SELECT (ARRAY['car','tool','tool','tool','room'])[1 + (i %% 5)] AS kind,
                       (ARRAY['car','trailer','snow blower','wood splitter','hall'])[1 + (i %% 5)]
                           AS category
            ) AS k
            CROSS JOIN LATERAL (
                SELECT 4 * sqrt(-2 * ln(1 - random() + i * 0)) * cos(2 * pi() * random()) AS dx,
                       4 * sqrt(-2 * ln(1 - random() + i * 0)) * sin(2 * pi() * random()) AS dy
            ) AS d
            """,
            {"associations": association_ids, "count": RESOURCES, "places": len(places)},
        )
        # Bookings: booking j of a resource starts in its own 2-day stretch, at a random
        # hour, 1-12 hours long; so they never overlap, buffer included.
        cursor.execute(
            """
            INSERT INTO sharing_booking (
                resource_id, booker_id, booked_by_id, starts_at, ends_at, blocked_until,
                status, note, estimated_cost_ore, created_at, reason, condition_out,
                condition_in, odometer_flag, returned_at)
            SELECT r.id, u.id, u.id, s.starts, s.starts + s.length,
                   s.starts + s.length + r.buffer_minutes * interval '1 minute',
                   s.status, '', 0, now(), '', '', '', '',
                   CASE WHEN s.status = 'returned' THEN s.starts + s.length END
            FROM sharing_resource AS r
            CROSS JOIN generate_series(0, %(per)s - 1) AS j
            CROSS JOIN LATERAL (
                SELECT (%(users)s::bigint[])[
                    1 + floor(random() * cardinality(%(users)s::bigint[]))::int + j * 0
                ] AS id
            ) AS u
            CROSS JOIN LATERAL (
                SELECT %(now)s::timestamptz + j * interval '2 days'
                           + floor(random() * 24 + r.id * 0) * interval '1 hour' AS starts,
                       (1 + floor(random() * 12 + r.id * 0)) * interval '1 hour' AS length,
                       CASE WHEN random() + r.id * 0 < 0.8 THEN 'confirmed'
                            WHEN random() + r.id * 0 < 0.5 THEN 'cancelled'
                            ELSE 'returned' END AS status
            ) AS s
            WHERE r.id > %(after)s
            """,
            {"per": BOOKINGS_PER_RESOURCE, "users": user_ids, "now": now, "after": after},
        )
        cursor.execute("DROP TABLE bench_place")
    with connection.cursor() as cursor:
        for name in ("sharing_resource", "sharing_booking", "accounts_user"):
            cursor.execute(f"VACUUM ANALYZE {name}")
        # Write out what the bulk insert left dirty, so that no measured query pays for
        # evicting it (needs a superuser; skipped otherwise).
        with contextlib.suppress(DatabaseError):
            cursor.execute("CHECKPOINT")


def _requests(now: dt.datetime) -> list[dict]:
    rng = random.Random(7)
    places = localities()
    requests = []
    for _ in range(REQUESTS + WARM_UP):
        place = rng.choice(places)
        start = now + dt.timedelta(hours=rng.randrange(1, 24 * 27))
        requests.append(
            {
                "point": Point(
                    place.lon + rng.gauss(0, 0.02), place.lat + rng.gauss(0, 0.01), srid=4326
                ),
                "radius_m": RADIUS_M,
                "kind": rng.choice(["car", "tool", "room"]) if rng.random() < 1 / 3 else None,
                "starts_at": start,
                "ends_at": start + dt.timedelta(hours=rng.randint(1, 6)),
                "limit": LIMIT,
            }
        )
    return requests


def _plain_columns(request: dict) -> list[Resource]:
    """(b): one query, overlap on the plain columns."""
    return list(_plain_columns_query(request))


def _plain_columns_query(request: dict):
    resources = Resource.objects.filter(
        active=True,
        out_of_service=False,
        location__dwithin=(request["point"], D(m=request["radius_m"])),
    )
    if request["kind"]:
        resources = resources.filter(kind=request["kind"])
    start, end = request["starts_at"], request["ends_at"]
    minutes = (end - start) / MINUTE
    wanted_until = ExpressionWrapper(
        Value(end)
        + ExpressionWrapper(
            OuterRef("buffer_minutes") * Value(MINUTE), output_field=DurationField()
        ),
        output_field=DateTimeField(),
    )
    busy = Booking.objects.filter(
        resource=OuterRef("pk"),
        status__in=HOLDING,
        starts_at__lt=wanted_until,
        blocked_until__gt=start,
    )
    return (
        resources.filter(min_minutes__lte=minutes, max_minutes__gte=minutes)
        .exclude(Exists(busy))
        .annotate(distance=Distance("location", request["point"], spheroid=False))
        .order_by("distance", "pk")[: request["limit"]]
    )


def _naive(request: dict) -> list[Resource]:
    """(c): the resources near the point, then one query per resource."""
    resources = Resource.objects.filter(
        active=True,
        out_of_service=False,
        location__dwithin=(request["point"], D(m=request["radius_m"])),
    )
    if request["kind"]:
        resources = resources.filter(kind=request["kind"])
    start, end = request["starts_at"], request["ends_at"]
    minutes = (end - start) / MINUTE
    found = []
    for resource in resources.annotate(
        distance=Distance("location", request["point"], spheroid=False)
    ).order_by("distance", "pk"):
        if not resource.min_minutes <= minutes <= resource.max_minutes:
            continue
        until = end + resource.buffer_minutes * MINUTE
        if Booking.objects.filter(
            Q(starts_at__lt=until) & Q(blocked_until__gt=start),
            resource=resource,
            status__in=HOLDING,
        ).exists():
            continue
        found.append(resource)
        if len(found) == request["limit"]:
            break
    return found


def _sql_only(request: dict) -> list[int]:
    """(a'): the SQL of (a), executed and fetched directly: the database's share."""
    with connection.cursor() as cursor:
        cursor.execute(*resources_available_near_query(**request))
        return [row[0] for row in cursor.fetchall()]


# CPU per request of each method (this process + its PostgreSQL backend), from the last
# run of _timed_interleaved: unlike wall time, it does not grow when the machine is busy.
CPU_MS: list[float] = []


def _timed_interleaved(requests: list[dict], methods) -> tuple[list[list[float]], list[list]]:
    """Every request through every method, in turn (the order rotates), so a busy moment
    of the machine falls on all methods alike."""
    for request in requests[:WARM_UP]:
        for _name, call in methods:
            call(request)
    times: list[list[float]] = [[] for _ in methods]
    results: list[list] = [[] for _ in methods]
    cpu = [0.0 for _ in methods]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    for n, request in enumerate(requests[WARM_UP:]):
        order = list(range(len(methods)))
        order = order[n % len(order) :] + order[: n % len(order)]
        for index in order:
            cpu_before = time.process_time() + (backend_cpu_seconds(backend) or 0.0)
            started = time.perf_counter()
            found = methods[index][1](request)
            times[index].append((time.perf_counter() - started) * 1000)
            cpu[index] += time.process_time() + (backend_cpu_seconds(backend) or 0.0) - cpu_before
            results[index].append([r if isinstance(r, int) else r.pk for r in found])
    CPU_MS.clear()
    CPU_MS.extend(total * 1000 / len(times[0]) for total in cpu)
    return times, results


def search(out: Report) -> None:
    municipality, _created = Municipality.objects.get_or_create(
        code="9999", defaults={"name": "Bench", "boundary": VANSBRO_BOX}
    )
    associations = [
        a.pk
        for a in Association.objects.bulk_create(
            [Association(name=f"Förening {n}", municipality=municipality) for n in range(20)]
        )
    ]
    users = [
        u.pk
        for u in User.objects.bulk_create(
            [User(full_name=f"Lånare {n}", phone=f"+4670880{n:04d}") for n in range(2000)]
        )
    ]
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    _generate(associations, users, now)
    generated = time.perf_counter() - started
    resources = Resource.objects.count()
    bookings = Booking.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('sharing_resource')),"
            " pg_size_pretty(pg_total_relation_size('sharing_booking'))"
        )
        sizes = cursor.fetchone()
    out.line("")
    out.line(
        f"== 2. Search: {resources:,} resources, {bookings:,} bookings, generated with"
        f" INSERT ... SELECT + VACUUM ANALYZE in {generated:.1f} s"
        f" (tables with indexes: resources {sizes[0]}, bookings {sizes[1]}) =="
    )
    requests = _requests(now)
    methods = [
        (
            "a. resources_available_near() (1 SQL query, raw)",
            lambda r: resources_available_near(**r),
        ),
        ("a'. the same SQL alone (cursor, no ORM)", _sql_only),
        ("b. the same search as an ORM query (plain columns)", _plain_columns),
        ("c. naive: nearby, then 1 query per resource", _naive),
    ]
    all_times, answers = _timed_interleaved(requests, methods)
    rows = [
        (
            name,
            len(times),
            f"{percentile(times, 50):.2f}",
            f"{percentile(times, 99):.2f}",
            f"{cpu_ms:.2f}",
            f"{statistics.mean(len(f) for f in found):.1f}",
        )
        for (name, _call), times, found, cpu_ms in zip(
            methods, all_times, answers, CPU_MS, strict=True
        )
    ]
    out.line(
        table(["method", "requests", "p50 ms", "p99 ms", "CPU ms/request", "found (avg)"], rows)
    )
    groups = list(zip(*answers, strict=True))
    same_order = sum(len({tuple(found) for found in group}) == 1 for group in groups)
    same_set = sum(len({frozenset(found) for found in group}) == 1 for group in groups)
    out.line(
        f"all methods return the same resources for {same_set} of {len(groups)} requests,"
        f" in the same order for {same_order} (the ORM's distance of the same point differs"
        " in the last digits, which can swap two resources at nearly the same distance)"
    )
    slowest = sorted(range(len(groups)), key=lambda i: all_times[0][i])[-3:]
    out.line("the three slowest requests of (a), ms by method (a, a', b, c):")
    for i in reversed(slowest):
        request = requests[WARM_UP + i]
        out.line(
            f"  #{i} kind={request['kind']} {request['ends_at'] - request['starts_at']}: "
            + ", ".join(f"{times[i]:.1f}" for times in all_times)
        )
    assert all(a == a_sql for a, a_sql in zip(answers[0], answers[1], strict=True))
    assert same_set >= 0.95 * len(groups), "the methods disagree"
    worst = requests[WARM_UP + slowest[-1]]
    out.line("")
    out.line("EXPLAIN (ANALYZE, BUFFERS) of the slowest request of (a):")
    out.line(_explain(worst))
    out.line("")
    out.line("EXPLAIN (ANALYZE, BUFFERS) of the same request as (b):")
    sql, params = _plain_columns_query(worst).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        out.line("\n".join(row[0] for row in cursor.fetchall()))
    typical = requests[WARM_UP + len(requests[WARM_UP:]) // 2]
    queryset_sql = _explain(typical)
    out.line("")
    out.line("EXPLAIN (ANALYZE, BUFFERS) of a typical request (a):")
    out.line(queryset_sql)


def _explain(request: dict) -> str:
    sql, params = resources_available_near_query(**request)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())

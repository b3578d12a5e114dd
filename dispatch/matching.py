"""Which drivers can take a ride request: one PostGIS query, then the fairness ranking.

A driver is a candidate for a ride when, all at once:

- their driver profile is active and their membership of the ride's association is
  active and has the driver role (the service that saved the request has already
  checked that the association serves the pickup's village);
- the pickup lies within their service radius of their home base (times `radius_factor`,
  which later offer waves use to widen the search);
- their car fits: wheelchair, walker and guide dog needs, and enough seats for the
  passengers plus one when a companion comes along (`bags` asks nothing of the car);
- for some pickup time t in the ride's window [earliest_pickup, latest_pickup], the whole
  trip [t, t + duration + boarding] lies inside one weekly slot or one dated `extra`
  period, overlaps no `away` exception of that day, and overlaps no ride the driver holds
  (accepted, en route, on board). The earliest such t is the candidate's `pickup_at`.

Local time. Slots and exceptions are wall-clock times of a local (Europe/Stockholm)
date. On the two nights a year when the clocks change, a wall-clock time means the first
moment the clock shows it (or a later time):

- spring forward (last Sunday of March, 02:00 becomes 03:00): a time in the skipped hour,
  e.g. 02:30, means 03:00 summer time, the moment the clocks jump. A slot 01:00-05:00
  that night is three real hours long.
- fall back (last Sunday of October, 03:00 becomes 02:00 again): a time in the repeated
  hour means its first occurrence (summer time); 03:00 and later are winter time. A slot
  01:00-05:00 that night is five real hours long.

Trips are measured in real time, so a trip that crosses the change needs the real
duration inside the slot. The rule is `backend.rides.localtime.LocalDay.instant`; the
windows are built with it and the weekly query uses the same rule in SQL.

Limits, on purpose: a trip must fit inside one slot or one extra period (two adjoining
slots are not joined), and so never crosses local midnight.

How the query finds them. Availability is materialised: `backend.rides.availability`
turns each driver's slots and exceptions into concrete windows of time
(`AvailabilityWindow`, with copies of the association and home base) for the dates of
`AvailabilityHorizon`. The window query (`candidate_query`) walks one GiST index on
(association, during, home_base) in distance order, over the association's windows that
overlap the ride's time: each window gives its first feasible start (moved past a held
ride when one is in the way), the driver's car, radius and membership are checked by
primary key, and the walk stops after the windows of `limit * FETCH_FACTOR` drivers; the
earliest start per driver is their `pickup_at`. `dispatch.ranking.rank` orders those by
distance and fairness and the best `limit` are returned. It runs as a prepared statement
with a generic plan, without sorts (so the planner walks the index rather than sorting
everything it finds) and without JIT.

For dates outside the horizon (or before the windows are first built) the weekly query
(`weekly_candidate_query`) works the same answer out from the slots and exceptions: a
KNN walk of the GiST index on (association, home_base) of the driver profiles, with the
availability test run per driver in that order. Both give the same candidates
(tests/dispatch/test_matching_windows.py, and the benchmark checks it on every request).
Measured in docs/performance.md, "Dispatch: candidate drivers".

`distance_m` is measured from the driver's current position when they are on duty and
it is fresh (less than 15 minutes old), else from their home base; the service area and
the order of the search always use the home base.
"""

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from backend.community.models import MembershipState, Role
from backend.db import execute_prepared
from backend.rides.localtime import (  # noqa: F401 - local_day, local_zone: re-exported
    DayWindow,
    LocalDay,
    instant_sql,
    local_day,
    local_days,
    local_zone,
)
from backend.rides.models import DRIVER_HOLDS, ExceptionKind, Need, RideRequest, RideState
from dispatch.ranking import rank

# The largest service radius a driver may set (DriverProfile's `driver_radius_sane`).
MAX_SERVICE_RADIUS_M = 100_000
POSITION_FRESH = dt.timedelta(minutes=15)
FETCH_FACTOR = 3

UTC = dt.UTC
# Window rows read per driver wanted (before more are read, see `candidates`).
ROWS_PER_DRIVER = 2


@dataclass(frozen=True)
class Candidate:
    driver_id: int
    distance_m: int  # from current position if on duty and fresh (< 15 min), else home base
    pickup_at: dt.datetime  # earliest pickup in the ride's window this driver can do (UTC)
    recent_rides: int  # completed/held rides in the last RIDES_FAIRNESS_DAYS days


_HOLDS = ", ".join(f"'{state}'" for state in DRIVER_HOLDS)
_COUNTED = ", ".join(f"'{state}'" for state in [*DRIVER_HOLDS, RideState.COMPLETED])

# The earliest feasible pickup of driver `d` over the days of the window: for each day,
# each period the driver is available (a slot of that weekday, or extra time that date)
# that could hold the trip, and each possible start in it (when the period opens, when
# an away period ends, when a held ride ends), keep the starts from which the whole trip
# fits. min() of none is NULL: not available.
_FIT = f"""
SELECT min(start.at) AS pickup_at
FROM window_day AS day
JOIN LATERAL (
    SELECT * FROM (
        SELECT {instant_sql("day", "slot.start")} AS opens,
               {instant_sql("day", 'slot."end"')} AS closes
        FROM rides_availabilityslot AS slot
        WHERE slot.driver_id = d.id AND slot.weekday = day.weekday
        UNION ALL
        SELECT {instant_sql("day", "extra.start")}, {instant_sql("day", 'extra."end"')}
        FROM rides_availabilityexception AS extra
        WHERE extra.driver_id = d.id AND extra.date = day.date
          AND extra.kind = '{ExceptionKind.EXTRA}'
    ) AS period
    WHERE greatest(day.lo, period.opens) <= day.hi
      AND greatest(day.lo, period.opens) + %(trip)s <= period.closes
) AS open ON true
CROSS JOIN LATERAL (
    SELECT greatest(day.lo, open.opens) AS at
    UNION ALL
    SELECT greatest(day.lo, {instant_sql("day", 'away."end"')})
    FROM rides_availabilityexception AS away
    WHERE away.driver_id = d.id AND away.date = day.date
      AND away.kind = '{ExceptionKind.AWAY}' AND away."end" IS NOT NULL
    UNION ALL
    SELECT greatest(day.lo, upper(held.busy))
    FROM rides_riderequest AS held
    WHERE held.driver_id = d.id AND held.state IN ({_HOLDS})
      AND held.busy && tstzrange(day.lo, day.hi + %(trip)s)
) AS start
WHERE start.at <= day.hi
  AND start.at >= open.opens
  AND start.at + %(trip)s <= open.closes
  AND NOT EXISTS (
      SELECT 1 FROM rides_availabilityexception AS away
      WHERE away.driver_id = d.id AND away.date = day.date
        AND away.kind = '{ExceptionKind.AWAY}'
        AND (away.start IS NULL OR (
            {instant_sql("day", "away.start")} < start.at + %(trip)s
            AND {instant_sql("day", 'away."end"')} > start.at))
  )
  AND NOT EXISTS (
      SELECT 1 FROM rides_riderequest AS held
      WHERE held.driver_id = d.id AND held.state IN ({_HOLDS})
        AND held.busy && tstzrange(start.at, start.at + %(trip)s)
  )
"""  # noqa: S608 - only constants of this module are interpolated; values are parameters

# Without windows (dates outside the horizon): the association's drivers whose car fits and
# whose radius reaches the pickup, nearest first; then, in that order, those with a
# feasible pickup time, until `fetch`.
_WEEKLY_QUERY = f"""
WITH window_day AS MATERIALIZED (
    SELECT * FROM unnest(
        %(dates)s::date[], %(weekdays)s::smallint[], %(los)s::timestamptz[],
        %(his)s::timestamptz[], %(bases)s::timestamptz[], %(turns)s::interval[],
        %(shifts)s::interval[], %(gaps)s::interval[]
    ) AS day(date, weekday, lo, hi, base, turn, shift, gap)
)
SELECT
    d.id,
    round(ST_Distance(
        CASE WHEN d.on_duty AND d.position IS NOT NULL AND d.position_at > %(fresh_since)s
             THEN d.position ELSE d.home_base END,
        %(pickup)s::geography
    ))::integer AS distance_m,
    fit.pickup_at,
    (SELECT count(*) FROM rides_riderequest AS done
     WHERE done.driver_id = d.id AND done.state IN ({_COUNTED})
       AND lower(done.busy) >= %(fairness_since)s)::integer AS recent_rides
FROM (
    SELECT d.*, d.home_base <-> %(pickup)s::geography AS knn
    FROM rides_driverprofile AS d
    JOIN community_membership AS m ON m.id = d.membership_id
    -- A KNN walk of the GiST index (association, home_base); ::bigint, or btree_gist's
    -- int8 class does not match and the index is silently not used.
    WHERE d.association_id = %(association)s::bigint
      AND m.state = '{MembershipState.ACTIVE}'
      AND m.roles @> ARRAY['{Role.DRIVER}']::varchar[]
      -- The bounding box of the largest radius: the index half of ST_DWithin (whose
      -- function half makes the planner expect a handful of rows, and plan badly).
      AND d.home_base && _ST_Expand(%(pickup)s::geography, %(max_radius)s)
      AND d.active
      AND d.seats >= %(seats)s{{needs}}
      -- Sphere distance with a 1 %% margin; the exact (spheroid) test is below.
      AND (d.home_base <-> %(pickup)s::geography) <= d.service_radius_m * %(radius_factor)s * 1.01
    ORDER BY d.home_base <-> %(pickup)s::geography
    OFFSET 0  -- sorted here, so the availability test below runs nearest first, lazily
) AS d
CROSS JOIN LATERAL ({_FIT}) AS fit
WHERE fit.pickup_at IS NOT NULL
  AND ST_Distance(d.home_base, %(pickup)s::geography) <= d.service_radius_m * %(radius_factor)s
ORDER BY d.knn
-- WITH TIES: drivers as near as the last one read are all read, so which of them is
-- ranked does not depend on the order the rows happen to come in.
FETCH FIRST %(fetch)s ROWS WITH TIES
"""  # noqa: S608 - only constants of this module are interpolated; values are parameters

# With windows: one KNN walk of the GiST index (association, during, home_base) over the
# windows of the association that overlap the ride's time, nearest home base first. Per
# window: the earliest start in it and in the pickup window (`first`), moved past held
# rides when one is in the way (`pick`); the driver's car, radius and membership by
# primary key. A driver with several fitting windows (a slot and extra time, or several
# days) gives several rows at the same distance: WITH TIES keeps all rows at the distance
# of the last one, so every driver read has all their windows, and min() picks the
# earliest. `total` tells `candidates` whether the walk stopped at %(rows)s.
# The first branch answers one row of NULLs when the windows are not built for the
# ride's dates, and `candidates` then runs _WEEKLY_QUERY.
_COVERED = """EXISTS (
    SELECT 1 FROM rides_availabilityhorizon AS horizon
    WHERE horizon.first <= %(first_date)s AND horizon.until > %(last_date)s)"""

# For a window over several days a driver has a fitting window on most of them: skip a
# window when the same driver has an earlier one that fits and that no held ride touches
# (its first start is then feasible and earlier). `d.id`, not `w.driver_id`, so the
# planner tests it after the cheaper conditions on the driver.
_EARLIER = f"""
              AND NOT EXISTS (
                  SELECT 1 FROM rides_availabilitywindow AS earlier
                  WHERE earlier.driver_id = d.id
                    AND earlier.day BETWEEN %(first_date)s AND %(last_date)s
                    AND lower(earlier.during) < lower(w.during)
                    AND greatest(%(earliest)s::timestamptz, lower(earlier.during)) <= %(latest)s
                    AND greatest(%(earliest)s::timestamptz, lower(earlier.during)) + %(trip)s
                        <= upper(earlier.during)
                    AND NOT EXISTS (
                        SELECT 1 FROM rides_riderequest AS held
                        WHERE held.driver_id = d.id AND held.state IN ({_HOLDS})
                          AND held.busy && earlier.during))"""  # noqa: S608 - constants only

_WINDOW_QUERY = f"""
SELECT NULL::bigint, NULL::integer, NULL::timestamptz, NULL::integer, NULL::bigint
WHERE NOT {_COVERED}
UNION ALL (
SELECT
    f.driver_id,
    round(ST_Distance(
        CASE WHEN d.on_duty AND d.position IS NOT NULL AND d.position_at > %(fresh_since)s
             THEN d.position ELSE d.home_base END,
        %(pickup)s::geography
    ))::integer AS distance_m,
    f.pickup_at,
    (SELECT count(*) FROM rides_riderequest AS done
     WHERE done.driver_id = d.id AND done.state IN ({_COUNTED})
       AND lower(done.busy) >= %(fairness_since)s)::integer AS recent_rides,
    f.total
FROM (
    SELECT w.driver_id, min(w.knn) AS knn, min(w.pickup_at) AS pickup_at,
           sum(count(*)) OVER ()::bigint AS total
    FROM (
        SELECT w.driver_id, w.home_base <-> %(pickup)s::geography AS knn, pick.at AS pickup_at
        FROM rides_availabilitywindow AS w
        JOIN rides_driverprofile AS d ON d.id = w.driver_id
        JOIN community_membership AS m ON m.id = d.membership_id
        CROSS JOIN LATERAL (
            -- The window's first start, or the end of a held ride in the way. OFFSET 0
            -- keeps it a subquery, run once per window that passed the tests below.
            SELECT CASE
                WHEN NOT EXISTS (
                    SELECT 1 FROM rides_riderequest AS held
                    WHERE held.driver_id = d.id AND held.state IN ({_HOLDS})
                      AND held.busy && tstzrange(first.at, first.at + %(trip)s))
                THEN first.at
                ELSE (
                    SELECT min(start.at) FROM (
                        SELECT greatest(first.at, upper(held.busy)) AS at
                        FROM rides_riderequest AS held
                        WHERE held.driver_id = d.id AND held.state IN ({_HOLDS})
                          AND held.busy && tstzrange(first.at, upper(w.during))
                    ) AS start
                    WHERE start.at <= %(latest)s AND start.at + %(trip)s <= upper(w.during)
                      AND NOT EXISTS (
                          SELECT 1 FROM rides_riderequest AS held
                          WHERE held.driver_id = d.id AND held.state IN ({_HOLDS})
                            AND held.busy && tstzrange(start.at, start.at + %(trip)s)))
            END AS at
            FROM (SELECT greatest(%(earliest)s::timestamptz, lower(w.during)) AS at) AS first
            OFFSET 0
        ) AS pick
        WHERE {_COVERED}
          -- ::bigint: btree_gist's int8 class does not match an int4 parameter, and
          -- the index would silently not be used.
          AND w.association_id = %(association)s::bigint
          AND w.during && tstzrange(%(earliest)s, %(latest)s + %(trip)s)
          AND w.home_base && _ST_Expand(%(pickup)s::geography, %(max_radius)s)
          AND greatest(%(earliest)s::timestamptz, lower(w.during)) <= %(latest)s
          AND greatest(%(earliest)s::timestamptz, lower(w.during)) + %(trip)s
              <= upper(w.during)
          AND d.active
          AND d.seats >= %(seats)s{{needs}}
          AND m.state = '{MembershipState.ACTIVE}'
          AND m.roles @> ARRAY['{Role.DRIVER}']::varchar[]
          -- Sphere distance with a 1 %% margin, then the exact (spheroid) test.
          AND (w.home_base <-> %(pickup)s::geography)
              <= d.service_radius_m * %(radius_factor)s * 1.01
          AND ST_Distance(w.home_base, %(pickup)s::geography)
              <= d.service_radius_m * %(radius_factor)s{{earlier}}
          AND pick.at IS NOT NULL
        ORDER BY w.home_base <-> %(pickup)s::geography
        FETCH FIRST %(rows)s ROWS WITH TIES
    ) AS w
    GROUP BY w.driver_id
    ORDER BY knn
    FETCH FIRST %(fetch)s ROWS WITH TIES  -- as in _WEEKLY_QUERY
) AS f
JOIN rides_driverprofile AS d ON d.id = f.driver_id
ORDER BY f.knn
)
"""  # noqa: S608 - only constants of this module are interpolated; values are parameters

_NEED_COLUMNS = {
    Need.WHEELCHAIR: "d.wheelchair_accessible",
    Need.WALKER: "d.walker_space",
    Need.GUIDE_DOG: "d.takes_guide_dog",
}


def trip_length(ride: RideRequest) -> dt.timedelta:
    """How long the driver is busy from the pickup: the drive plus boarding."""
    return dt.timedelta(seconds=ride.duration_s, minutes=settings.RIDES_BOARDING_MINUTES)


def seats_needed(ride: RideRequest) -> int:
    return ride.passengers + (1 if Need.COMPANION in ride.needs else 0)


def _params(
    ride: RideRequest,
    *,
    radius_factor: float,
    exclude_driver_ids: Collection[int],
    limit: int,
) -> tuple[str, dict]:
    """The parameters both queries take, and the extra conditions on the driver `d`."""
    now = dt.datetime.now(tz=UTC)
    conditions = [column for need, column in _NEED_COLUMNS.items() if need in ride.needs]
    params = {
        "trip": trip_length(ride),
        "pickup": ride.pickup.ewkt,
        "fresh_since": now - POSITION_FRESH,
        "fairness_since": now - dt.timedelta(days=settings.RIDES_FAIRNESS_DAYS),
        "association": ride.association_id,
        "max_radius": MAX_SERVICE_RADIUS_M * radius_factor,
        "radius_factor": radius_factor,
        "seats": seats_needed(ride),
        "fetch": limit * FETCH_FACTOR,
    }
    if exclude_driver_ids:
        conditions.append("d.id <> ALL(%(excluded)s::bigint[])")
        params["excluded"] = list(exclude_driver_ids)
    return "".join(f"\n      AND {condition}" for condition in conditions), params


def candidate_query(
    ride: RideRequest,
    *,
    radius_factor: float = 1.0,
    exclude_driver_ids: Collection[int] = (),
    limit: int = 20,
) -> tuple[str, dict] | None:
    """The SQL and parameters `candidates` runs first, over the availability windows
    (None when nobody can match), for EXPLAIN and the benchmark."""
    days = local_days(ride.earliest_pickup, ride.latest_pickup)
    if not days or limit <= 0:
        return None
    needs, params = _params(
        ride,
        radius_factor=radius_factor,
        exclude_driver_ids=exclude_driver_ids,
        limit=limit,
    )
    params |= {
        "first_date": days[0].day.date,
        "last_date": days[-1].day.date,
        "earliest": ride.earliest_pickup,
        "latest": ride.latest_pickup,
        "rows": limit * FETCH_FACTOR * ROWS_PER_DRIVER,
    }
    earlier = _EARLIER if len(days) > 1 else ""
    return _WINDOW_QUERY.replace("{needs}", needs).replace("{earlier}", earlier), params


def weekly_candidate_query(
    ride: RideRequest,
    *,
    radius_factor: float = 1.0,
    exclude_driver_ids: Collection[int] = (),
    limit: int = 20,
) -> tuple[str, dict] | None:
    """The same answer as `candidate_query`, worked out from the weekly slots and
    exceptions: for rides whose dates the windows do not cover."""
    days = local_days(ride.earliest_pickup, ride.latest_pickup)
    if not days or limit <= 0:
        return None
    needs, params = _params(
        ride,
        radius_factor=radius_factor,
        exclude_driver_ids=exclude_driver_ids,
        limit=limit,
    )
    params |= {
        "dates": [w.day.date for w in days],
        "weekdays": [w.day.date.weekday() for w in days],
        "los": [w.earliest for w in days],
        "his": [w.latest for w in days],
        "bases": [w.day.base for w in days],
        "turns": [w.day.turn for w in days],
        "shifts": [w.day.shift for w in days],
        "gaps": [w.day.gap for w in days],
    }
    return _WEEKLY_QUERY.replace("{needs}", needs), params


# How the window query runs, in one message (one round trip, one query in Django's count):
#
# - SET LOCAL enable_sort = off: the planner underestimates how many windows overlap a
#   time (`during &&`) and then prefers to collect them all and sort, which for "any
#   weekday next week" means the association's whole week (30,000 buffers instead of
#   5,000 at 100k drivers); without sorts it walks the GiST index in distance order and
#   stops early. jit = off: compiling would take longer than the query runs.
# - A prepared statement, made once per database connection, whose generic plan every
#   connection keeps (backend/db.py, backend/database/base.py): planning this query takes
#   about as long as running it, and the plan is the same index walk whatever the
#   parameters.
#
# SET LOCAL lasts until the end of the transaction: the implicit one of the message in
# autocommit mode, else the caller's, which is why the settings are put back after.
PLAN_SETTINGS = (
    ("enable_sort", "off"),
    ("jit", "off"),
)
_SET = "".join(f"SET LOCAL {name} = {value}; " for name, value in PLAN_SETTINGS)
_RESET = "".join(f"; SET LOCAL {name} TO DEFAULT" for name, _value in PLAN_SETTINGS)
# The type of each parameter of the prepared statement (a generic plan cannot look at
# the values to guess them).
CANDIDATE_PARAM_TYPES = {
    "association": "bigint",
    "earliest": "timestamptz",
    "excluded": "bigint[]",
    "fairness_since": "timestamptz",
    "fetch": "bigint",
    "first_date": "date",
    "fresh_since": "timestamptz",
    "last_date": "date",
    "latest": "timestamptz",
    "max_radius": "float8",
    "pickup": "text",
    "radius_factor": "float8",
    "rows": "bigint",
    "seats": "integer",
    "trip": "interval",
}


def run_candidate_sql(cursor, sql: str, params: dict, *, prepare: bool = True) -> list[tuple]:
    """Run `sql` with PLAN_SETTINGS, as a prepared statement if `prepare`, in one
    message."""
    if prepare:
        execute_prepared(
            cursor, sql, params, types=CANDIDATE_PARAM_TYPES, before=_SET, after=_RESET
        )
    else:
        cursor.execute(f"{_SET}{sql}{_RESET}", params)
        for _setting in PLAN_SETTINGS:
            cursor.nextset()
    return cursor.fetchall()


def candidates(
    ride: RideRequest,
    *,
    radius_factor: float = 1.0,
    exclude_driver_ids: Collection[int] = (),
    limit: int = 20,
) -> list[Candidate]:
    """Ranked candidates (ranking via dispatch.ranking.rank): one SQL query.

    A second query only when it must: the windows do not cover the ride's dates (then
    the weekly query), or drivers with many fitting windows filled the rows read before
    `limit * FETCH_FACTOR` drivers were found (then again, reading more rows)."""
    options = {
        "radius_factor": radius_factor,
        "exclude_driver_ids": exclude_driver_ids,
        "limit": limit,
    }
    query = candidate_query(ride, **options)
    if query is None:
        return []
    sql, params = query
    with connection.cursor() as cursor:
        while True:
            rows = run_candidate_sql(cursor, sql, params)
            if rows and rows[0][0] is None:
                # Not prepared: its generic plan is slower than planning it each time.
                rows = run_candidate_sql(
                    cursor, *weekly_candidate_query(ride, **options), prepare=False
                )
                break
            if len(rows) >= params["fetch"] or not rows or rows[0][4] < params["rows"]:
                break
            params["rows"] *= 4
    found = [
        Candidate(driver_id=row[0], distance_m=row[1], pickup_at=row[2], recent_rides=row[3])
        for row in rows
    ]
    return rank(found)[:limit]

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
duration inside the slot. The window is cut into local days in Python (`local_days`),
with for each day the instant of its midnight and where its clocks change; the query gets
them as arrays and turns each slot into instants with the same rule (`LocalDay.instant`).

Limits, on purpose: a trip must fit inside one slot or one extra period (two adjoining
slots are not joined), and so never crosses local midnight.

How the query finds them. It starts from the association: the ids of its active driver
memberships (index on association), the profiles of those drivers (unique index on
`membership_id`) within the bounding box of the largest possible radius, whose car fits
and whose radius reaches the pickup. These are sorted by `home_base <-> pickup`, and the
availability test, the expensive part, runs in that order and stops after the first
`limit * 3` drivers who can do the trip; `dispatch.ranking.rank` orders those by
distance and fairness and the best `limit` are returned.

Why not a KNN walk of the GiST index on `home_base`: that index holds every
association's drivers, and near a small association's villages most of the nearest
drivers belong to the neighbours, so the walk reads the whole box (some 20,000 drivers
at 100k) before it has enough of the association's own.
With the association on the driver profile and a GiST index on (association, home_base)
the same query becomes a KNN walk within the association (docs/performance.md,
"Matching").

`distance_m` is measured from the driver's current position when they are on duty and
it is fresh (less than 15 minutes old), else from their home base; the service area and
the order of the search always use the home base.
"""

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from backend.community.models import MembershipState, Role
from backend.rides.models import DRIVER_HOLDS, ExceptionKind, Need, RideRequest, RideState
from dispatch.ranking import rank

# The largest service radius a driver may set (DriverProfile's `driver_radius_sane`).
MAX_SERVICE_RADIUS_M = 100_000
POSITION_FRESH = dt.timedelta(minutes=15)
FETCH_FACTOR = 3

UTC = dt.UTC
ZERO = dt.timedelta(0)
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Candidate:
    driver_id: int
    distance_m: int  # from current position if on duty and fresh (< 15 min), else home base
    pickup_at: dt.datetime  # earliest pickup in the ride's window this driver can do (UTC)
    recent_rides: int  # completed/held rides in the last RIDES_FAIRNESS_DAYS days


# --- Local days ---------------------------------------------------------------------------


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class LocalDay:
    """A local calendar date and how its wall-clock times map to instants.

    `base` is the instant local midnight would be at the day's first UTC offset; at the
    wall-clock time `turn` (24 h on days without a change) the clocks move by `shift`
    (+1 h in spring, -1 h in autumn).
    """

    date: dt.date
    base: dt.datetime
    turn: dt.timedelta
    shift: dt.timedelta

    @property
    def gap(self) -> dt.timedelta:
        """How long the skipped wall-clock interval is (spring forward), else zero."""
        return max(self.shift, ZERO)

    def instant(self, at: dt.time) -> dt.datetime:
        """The first moment the local clock shows `at` (or later) on this date, in UTC.

        The query computes the same thing in SQL (`_instant_sql`)."""
        wall = dt.timedelta(
            hours=at.hour, minutes=at.minute, seconds=at.second, microseconds=at.microsecond
        )
        if wall < self.turn:
            return self.base + wall
        if wall < self.turn + self.gap:
            return self.base + self.turn
        return self.base + wall - self.shift

    @property
    def start(self) -> dt.datetime:
        return self.instant(dt.time(0))

    @property
    def end(self) -> dt.datetime:
        """Local midnight at the end of the day (the next day's start)."""
        return local_day(self.date + ONE_DAY).start


@lru_cache(maxsize=1024)
def local_day(date: dt.date) -> LocalDay:
    zone = local_zone()
    midnight = dt.datetime.combine(date, dt.time(0))
    before = dt.datetime.combine(date, dt.time(0), tzinfo=zone).utcoffset() or ZERO
    after = dt.datetime.combine(date + ONE_DAY, dt.time(0), tzinfo=zone).utcoffset() or ZERO
    base = (midnight - before).replace(tzinfo=UTC)
    if before == after:
        return LocalDay(date=date, base=base, turn=ONE_DAY, shift=ZERO)
    # The clocks change during the day: find the first second at the new offset.
    low, high = int(base.timestamp()), int((base + ONE_DAY).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz=zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    change = dt.datetime.fromtimestamp(high, tz=UTC)
    return LocalDay(date=date, base=base, turn=change - base, shift=after - before)


@dataclass(frozen=True)
class DayWindow:
    """The part of a ride's pickup window that falls on one local date."""

    day: LocalDay
    earliest: dt.datetime
    latest: dt.datetime


def local_days(earliest: dt.datetime, latest: dt.datetime) -> list[DayWindow]:
    """Cut the pickup window [earliest, latest] into local calendar days."""
    zone = local_zone()
    date = earliest.astimezone(zone).date()
    last = latest.astimezone(zone).date()
    windows = []
    while date <= last:
        day = local_day(date)
        low, high = max(earliest, day.start), min(latest, day.end)
        if low <= high:
            windows.append(DayWindow(day=day, earliest=low, latest=high))
        date += ONE_DAY
    return windows


# --- The query ------------------------------------------------------------------------------


def _instant_sql(day: str, column: str) -> str:
    """SQL for LocalDay.instant: when the clock on `day` first shows `column` (a time)."""
    wall = f"{column}::interval"
    return (
        f"({day}.base + CASE WHEN {wall} < {day}.turn THEN {wall}"
        f" WHEN {wall} < {day}.turn + {day}.gap THEN {day}.turn"
        f" ELSE {wall} - {day}.shift END)"
    )


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
        SELECT {_instant_sql("day", "slot.start")} AS opens,
               {_instant_sql("day", 'slot."end"')} AS closes
        FROM rides_availabilityslot AS slot
        WHERE slot.driver_id = d.id AND slot.weekday = day.weekday
        UNION ALL
        SELECT {_instant_sql("day", "extra.start")}, {_instant_sql("day", 'extra."end"')}
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
    SELECT greatest(day.lo, {_instant_sql("day", 'away."end"')})
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
            {_instant_sql("day", "away.start")} < start.at + %(trip)s
            AND {_instant_sql("day", 'away."end"')} > start.at))
  )
  AND NOT EXISTS (
      SELECT 1 FROM rides_riderequest AS held
      WHERE held.driver_id = d.id AND held.state IN ({_HOLDS})
        AND held.busy && tstzrange(start.at, start.at + %(trip)s)
  )
"""  # noqa: S608 - only constants of this module are interpolated; values are parameters

# The association's drivers whose car fits and whose radius reaches the pickup, nearest
# first; then, in that order, those with a feasible pickup time, until `fetch`.
_QUERY = f"""
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
    WHERE d.membership_id = ANY(ARRAY(
          SELECT m.id FROM community_membership AS m
          WHERE m.association_id = %(association)s
            AND m.state = '{MembershipState.ACTIVE}'
            AND m.roles @> ARRAY['{Role.DRIVER}']::varchar[]))
      -- The bounding box of the largest radius: the index half of ST_DWithin (whose
      -- function half makes the planner expect a handful of rows, and plan badly).
      AND d.home_base && _ST_Expand(%(pickup)s::geography, %(max_radius)s)
      AND d.active
      AND d.seats >= %(seats)s{{needs}}
      -- Sphere distance with a 1 %% margin; the exact (spheroid) test is below.
      AND (d.home_base <-> %(pickup)s::geography) <= d.service_radius_m * %(radius_factor)s * 1.01
    ORDER BY knn
    OFFSET 0  -- sorted here, so the availability test below runs nearest first, lazily
) AS d
CROSS JOIN LATERAL ({_FIT}) AS fit
WHERE fit.pickup_at IS NOT NULL
  AND ST_Distance(d.home_base, %(pickup)s::geography) <= d.service_radius_m * %(radius_factor)s
ORDER BY d.knn
LIMIT %(fetch)s
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


def candidate_query(
    ride: RideRequest,
    *,
    radius_factor: float = 1.0,
    exclude_driver_ids: Collection[int] = (),
    limit: int = 20,
) -> tuple[str, dict] | None:
    """The SQL and parameters `candidates` runs (None when nobody can match), for
    EXPLAIN and the benchmark."""
    days = local_days(ride.earliest_pickup, ride.latest_pickup)
    if not days or limit <= 0:
        return None
    now = dt.datetime.now(tz=UTC)
    conditions = [column for need, column in _NEED_COLUMNS.items() if need in ride.needs]
    params = {
        "dates": [w.day.date for w in days],
        "weekdays": [w.day.date.weekday() for w in days],
        "los": [w.earliest for w in days],
        "his": [w.latest for w in days],
        "bases": [w.day.base for w in days],
        "turns": [w.day.turn for w in days],
        "shifts": [w.day.shift for w in days],
        "gaps": [w.day.gap for w in days],
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
    extra = "".join(f"\n      AND {condition}" for condition in conditions)
    return _QUERY.replace("{needs}", extra), params


def candidates(
    ride: RideRequest,
    *,
    radius_factor: float = 1.0,
    exclude_driver_ids: Collection[int] = (),
    limit: int = 20,
) -> list[Candidate]:
    """One SQL query; returns ranked candidates (ranking via dispatch.ranking.rank)."""
    query = candidate_query(
        ride, radius_factor=radius_factor, exclude_driver_ids=exclude_driver_ids, limit=limit
    )
    if query is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*query)
        rows = cursor.fetchall()
    found = [
        Candidate(driver_id=row[0], distance_m=row[1], pickup_at=row[2], recent_rides=row[3])
        for row in rows
    ]
    return rank(found)[:limit]

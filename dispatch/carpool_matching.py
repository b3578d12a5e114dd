"""Carpool search: which published departures can take a passenger from a pickup to a
drop-off in a time window. One PostGIS query on indexed geometry.

A departure matches when, all at once:

- it is published (not full, cancelled or gone) and has `seats` free;
- its route passes within CARPOOL_CORRIDOR_M of both points (ST_DWithin on the
  geography route);
- it passes the pickup before the drop-off (ST_LineLocatePoint: fraction of pickup <
  fraction of drop-off, see backend/carpool/corridor.py);
- the passenger rides along at least CARPOOL_MIN_SHARED_PCT % of the driver's trip, and
  fetching them (points further than their walking distance from the route are fetched
  by car, out and back) adds at most CARPOOL_MAX_DETOUR_PCT % to it;
- the car passes the pickup within the window: departure + fraction x duration, not
  the departure itself, so a trip leaving 07:00 that passes the village at 07:25 matches
  a window of 07:20-07:40.

Ranked by added detour plus walking (metres), then by how close the pickup time is to
the preferred time (default: the middle of the window).

How it stays fast: the route legs (backend.carpool.models.RouteLeg: pieces of at most
8 km of each published departure's route with the time the car is on them, written by
the database) carry an n-dimensional GiST index over their boxes in longitude, latitude
and time, so it narrows by place and time at once. The pickup selects, from that index,
the departures whose car is within the corridor of it during the window (a few dozen
among a million); of those, the legs of each (btree on the departure) tell which pass
near the drop-off after the window opens; only departures with both are read and
measured exactly. Indexing whole routes instead (the first version) returned ~1,500
candidates per search at 1M trips, because a long route's bounding box covers both
points far more often than the route passes near them; a second GiST scan for the
drop-off returns ten times more legs than the pickup's, since the car may pass it
until its arrival (docs/performance.md, "Carpool search").

The leg lookup never loses a match: a leg's span is widened so that it contains the
moment the rules compute for any point on it, and the reach is the corridor plus 2 % and
100 m, more than the difference between the exact distance on the spheroid and the
lon/lat geometry the legs are cut from. The exact rules below decide.

`saved_searches_matching` runs the same rules the other way round: for one newly
published trip, the ride alerts it satisfies (index on the alerts' pickup points).
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.carpool.corridor import (
    DROPOFF,
    MATCH_RULES,
    PICKUP,
    PLACEMENT_COLUMNS,
    PLACEMENT_FROM,
    Placement,
    Query,
    placement_from_row,
    placement_laterals,
    rule_params,
)
from backend.carpool.errors import CarpoolErrorCode as Code
from backend.carpool.models import LEG_BOX_EPOCH, LEG_BOX_HOURS, MAX_SEATS, OccurrenceStatus
from backend.db import execute_prepared
from backend.errors import ApplicationError

MAX_WINDOW = dt.timedelta(days=7)
MAX_WALK_M = 5000


@dataclass(frozen=True)
class Search:
    pickup: Point
    dropoff: Point
    window_start: dt.datetime
    window_end: dt.datetime
    seats: int = 1
    walk_m: int | None = None
    preferred_at: dt.datetime | None = None
    searcher_id: int | None = None  # their own trips are left out

    def query(self) -> Query:
        walk = settings.CARPOOL_WALK_M if self.walk_m is None else self.walk_m
        return Query(pickup=self.pickup, dropoff=self.dropoff, walk_m=walk, seats=self.seats)


def _invalid(code: Code, message, field: str) -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def search_check(search: Search, *, now: dt.datetime | None = None) -> None:
    """Refuse a search a person got wrong, with what to change."""
    now = now or timezone.now()
    if search.pickup.distance(search.dropoff) < 1e-5:
        raise _invalid(
            Code.SAME_PLACE,
            _("Pickup and drop-off are the same place. Choose where you want to go."),
            "dropoff",
        )
    if search.window_end <= search.window_start:
        raise _invalid(
            Code.WINDOW_REVERSED,
            _("The time window ends before it starts. Swap the two times."),
            "window_end",
        )
    if search.window_end - search.window_start > MAX_WINDOW:
        raise _invalid(
            Code.WINDOW_TOO_LONG, _("Search at most seven days at a time."), "window_end"
        )
    if search.window_end <= now:
        raise _invalid(
            Code.TIME_PAST, _("The time window has passed. Choose a later time."), "window_end"
        )
    if not 1 <= search.seats <= MAX_SEATS:
        raise _invalid(Code.SEATS, _("Choose from 1 to 8 seats."), "seats")
    if search.walk_m is not None and not 0 <= search.walk_m <= MAX_WALK_M:
        raise _invalid(Code.WALK, _("Walk from 0 to 5000 metres."), "max_walk_m")


# The departures with a leg near the pickup while the window is open; of those, the ones
# with a leg near the drop-off that the car is on after the window opens (looked up by
# departure: a few legs each, side by side on disk).
SEARCH_SQL = f"""
WITH near_pickup AS MATERIALIZED (
    SELECT DISTINCT l.occurrence_id
    FROM carpool_routeleg AS l
    WHERE l.box &&& ST_SetSRID(ST_MakeLine(
              ST_MakePoint(%(plon)s - %(reach_lon)s, %(plat)s - %(reach_lat)s, %(box_t0)s),
              ST_MakePoint(%(plon)s + %(reach_lon)s, %(plat)s + %(reach_lat)s, %(box_t1)s)),
              4326)
      AND ST_DWithin(l.piece, {PICKUP}, %(reach)s, false)
      AND l.span && tstzrange(%(window_start)s, %(window_end)s, '[]')
), candidate AS MATERIALIZED (
    SELECT p.occurrence_id
    FROM near_pickup AS p
    CROSS JOIN LATERAL (
        SELECT 1 FROM carpool_routeleg AS l
        WHERE l.occurrence_id = p.occurrence_id
          AND ST_DWithin(l.piece, {DROPOFF}, %(reach)s, false)
          AND upper(l.span) >= %(window_start)s
        LIMIT 1
    ) AS near_dropoff
)
SELECT {PLACEMENT_COLUMNS}
{PLACEMENT_FROM}
JOIN candidate ON candidate.occurrence_id = o.id
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


def leg_reach_m(corridor_m: int) -> float:
    """How far from a point a leg may be and still carry a departure whose route is
    within `corridor_m` of it: the corridor plus the most the lon/lat pieces, the planar
    positions and the sphere the legs are measured on (several times cheaper than the
    spheroid, under 0.5 % apart) can differ from the spheroid: well under 2 % + 100 m."""
    return corridor_m * 1.02 + 100


def _box_reach(point: Point, reach_m: float) -> tuple[float, float]:
    """Degrees of longitude and latitude that surely hold `reach_m` around the point
    (the shortest degrees: 110 km of latitude, longitude at the side nearer the pole)."""
    reach_lat = reach_m / 110_000
    pole_side = min(89.0, abs(point.y) + reach_lat)
    return reach_m / (110_000 * math.cos(math.radians(pole_side))), reach_lat


def _box_time(moment: dt.datetime) -> float:
    return (moment.timestamp() - LEG_BOX_EPOCH) / (LEG_BOX_HOURS * 3600)


def search_query(search: Search, *, limit: int | None = None) -> tuple[str, dict]:
    middle = search.window_start + (search.window_end - search.window_start) / 2
    rules = rule_params()
    reach = leg_reach_m(rules["corridor"])
    reach_lon, reach_lat = _box_reach(search.pickup, reach * 1.01)
    return SEARCH_SQL, {
        **search.query().params(),
        **rules,
        "reach": reach,
        "reach_lon": reach_lon,
        "reach_lat": reach_lat,
        "box_t0": _box_time(search.window_start),
        "box_t1": _box_time(search.window_end),
        "window_start": search.window_start,
        "window_end": search.window_end,
        "preferred": search.preferred_at or middle,
        "searcher": search.searcher_id or 0,
        "limit": limit or settings.CARPOOL_SEARCH_LIMIT,
    }


def departures_matching(search: Search, *, limit: int | None = None) -> list[Placement]:
    """The best departures for the search, best first (see the module docstring)."""
    sql, params = search_query(search, limit=limit)
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        return [placement_from_row(row) for row in cursor.fetchall()]


_S_PICKUP = "s.pickup"
_S_DROPOFF = "s.dropoff"
_S_KX = "cos(radians(ST_Y(s.pickup::geometry)))"

REVERSE_SQL = f"""
SELECT DISTINCT ON (s.id) s.id, o.id
FROM carpool_trip AS t
JOIN carpool_tripoccurrence AS o ON o.trip_id = t.id
JOIN carpool_savedsearch AS s
  ON s.active
 AND ST_DWithin(t.route, s.pickup, %(corridor)s)
 AND ST_DWithin(t.route, s.dropoff, %(corridor)s)
{placement_laterals(pickup=_S_PICKUP, dropoff=_S_DROPOFF, walk="s.max_walk_m", kx=_S_KX)}
WHERE t.id = %(trip)s
  AND o.status = '{OccurrenceStatus.PUBLISHED}'
  AND o.departure_at > %(now)s
  AND o.seats_total - o.seats_taken >= s.seats
  AND s.owner_id <> t.driver_id
  AND {MATCH_RULES}
  AND (c.pickup_at AT TIME ZONE %(zone)s)::time BETWEEN s.earliest AND s.latest
  AND extract(isodow FROM c.pickup_at AT TIME ZONE %(zone)s)::int - 1 = ANY (s.weekdays)
  AND (s.until IS NULL OR (c.pickup_at AT TIME ZONE %(zone)s)::date <= s.until)
ORDER BY s.id, o.departure_at
"""  # noqa: S608 - composed of our own constants; values are parameters


def saved_searches_matching(*, trip_id: int) -> list[tuple[int, int]]:
    """(saved search id, first matching departure id) for each ride alert the trip
    satisfies."""
    with connection.cursor() as cursor:
        cursor.execute(
            REVERSE_SQL,
            {
                **rule_params(),
                "trip": trip_id,
                "now": timezone.now(),
                "zone": settings.TIME_ZONE,
            },
        )
        return [(search_id, occurrence_id) for search_id, occurrence_id in cursor.fetchall()]

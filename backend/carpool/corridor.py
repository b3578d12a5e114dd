"""Where a passenger's pickup and drop-off lie along a departure's route: the SQL both
the search (dispatch/carpool_matching.py) and a booking (services.booking_request) use,
so that what the search promised is what the booking gets.

For a pickup P and a drop-off D and the route of a departure:

- `pickup_off_m`, `dropoff_off_m`: distance (metres, on the spheroid) from the point to
  the route.
- `pickup_fraction`, `dropoff_fraction`: where along the route the car passes closest
  (0 = origin, 1 = destination): ST_LineLocatePoint. PostGIS 3.3 has it for geometry
  only, so it runs on the lon/lat line with longitudes scaled by cos(latitude) of the
  pickup: locally that is a true-to-scale plane, and fractions are proportional to
  metres along the route.
- walking and detour: a point within the passenger's walking distance of the route is
  reached on foot (walk = its distance, no detour); one further away is fetched by car,
  out and back: detour = 2 x distance x ROAD_FACTOR.
- `pickup_at`: departure + pickup_fraction x the departure's duration.
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point


@dataclass(frozen=True)
class Query:
    """A passenger's trip: the parameters of the placement SQL."""

    pickup: Point
    dropoff: Point
    walk_m: int
    seats: int = 1

    def params(self) -> dict:
        return {
            "plon": self.pickup.x,
            "plat": self.pickup.y,
            "dlon": self.dropoff.x,
            "dlat": self.dropoff.y,
            "kx": math.cos(math.radians(self.pickup.y)),
            "walk": self.walk_m,
            "road_factor": settings.ROAD_FACTOR,
            "seats": self.seats,
        }


@dataclass(frozen=True)
class Placement:
    """One departure as seen from a passenger's pickup and drop-off."""

    occurrence_id: int
    trip_id: int
    departure_at: dt.datetime
    pickup_fraction: float
    dropoff_fraction: float
    pickup_off_m: float
    dropoff_off_m: float
    walk_m: int
    detour_m: int
    pickup_at: dt.datetime
    dropoff_at: dt.datetime
    trip_distance_m: int

    @property
    def shared_fraction(self) -> float:
        return self.dropoff_fraction - self.pickup_fraction

    @property
    def cost_m(self) -> int:
        """What the ranking minimises first: added driving plus walking."""
        return self.detour_m + self.walk_m


PICKUP = "ST_SetSRID(ST_MakePoint(%(plon)s, %(plat)s), 4326)::geography"
DROPOFF = "ST_SetSRID(ST_MakePoint(%(dlon)s, %(dlat)s), 4326)::geography"


def _scaled(geography: str, kx: str) -> str:
    return f"ST_Scale({geography}::geometry, {kx}, 1)"


def placement_laterals(*, pickup: str, dropoff: str, walk: str, kx: str) -> str:
    """The two LATERAL joins that place a pickup and a drop-off (SQL expressions) along
    the route of departure `o`: `m` (distances, fractions) and `c` (walk, detour, times)."""
    return f"""
CROSS JOIN LATERAL (
    SELECT ST_Distance(o.route, {pickup}) AS p_off,
           ST_Distance(o.route, {dropoff}) AS d_off,
           ST_LineLocatePoint({_scaled("o.route", kx)}, {_scaled(pickup, kx)}) AS fp,
           ST_LineLocatePoint({_scaled("o.route", kx)}, {_scaled(dropoff, kx)}) AS fd
) AS m
CROSS JOIN LATERAL (
    SELECT (CASE WHEN m.p_off <= {walk} THEN m.p_off ELSE 0 END
            + CASE WHEN m.d_off <= {walk} THEN m.d_off ELSE 0 END) AS walk_m,
           2 * %(road_factor)s * (CASE WHEN m.p_off <= {walk} THEN 0 ELSE m.p_off END
                                  + CASE WHEN m.d_off <= {walk} THEN 0 ELSE m.d_off END)
               AS detour_m,
           o.departure_at + (upper(o.span) - lower(o.span)) * m.fp AS pickup_at,
           o.departure_at + (upper(o.span) - lower(o.span)) * m.fd AS dropoff_at
) AS c
"""


# A departure `o` of trip `t`, placed for the query's points (Query.params()).
PLACEMENT_FROM = (
    "FROM carpool_tripoccurrence AS o JOIN carpool_trip AS t ON t.id = o.trip_id"
    + placement_laterals(pickup=PICKUP, dropoff=DROPOFF, walk="%(walk)s", kx="%(kx)s")
)

PLACEMENT_COLUMNS = """
o.id, o.trip_id, o.departure_at, m.fp, m.fd, m.p_off, m.d_off,
round(c.walk_m)::int, round(c.detour_m)::int, c.pickup_at, c.dropoff_at, t.distance_m
"""

# The rules a match must meet besides time and seats (the search adds those).
MATCH_RULES = """
m.fp < m.fd
AND (m.fd - m.fp) * 100 >= %(min_shared_pct)s
AND c.detour_m * 100 <= %(max_detour_pct)s * t.distance_m
"""


def rule_params() -> dict:
    return {
        "road_factor": settings.ROAD_FACTOR,
        "min_shared_pct": settings.CARPOOL_MIN_SHARED_PCT,
        "max_detour_pct": settings.CARPOOL_MAX_DETOUR_PCT,
        "corridor": settings.CARPOOL_CORRIDOR_M,
    }


def placement_from_row(row: tuple) -> Placement:
    return Placement(
        occurrence_id=row[0],
        trip_id=row[1],
        departure_at=row[2],
        pickup_fraction=row[3],
        dropoff_fraction=row[4],
        pickup_off_m=row[5],
        dropoff_off_m=row[6],
        walk_m=row[7],
        detour_m=row[8],
        pickup_at=row[9],
        dropoff_at=row[10],
        trip_distance_m=row[11],
    )

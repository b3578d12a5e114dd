"""Geodata in one place: constants, geodesic distances, and the road router.

Points are (lon, lat) WGS84 `django.contrib.gis.geos.Point`s with srid 4326. Road
distances come from an OSRM-compatible router when ROUTER_URL is set, else from the
geodesic distance times a road factor (rural roads wind: 1.3 is typical in Sweden).
"""

from dataclasses import dataclass

import httpx
from django.conf import settings
from django.contrib.gis.geos import Point
from geopy.distance import geodesic

WGS84 = 4326


@dataclass(frozen=True)
class Leg:
    distance_m: int
    duration_s: int


def geodesic_m(a: Point, b: Point) -> float:
    return geodesic((a.y, a.x), (b.y, b.x)).meters


def road_leg(a: Point, b: Point) -> Leg:
    """Driving distance and time from a to b."""
    if settings.ROUTER_URL:
        try:
            return _osrm_leg(a, b)
        except (httpx.HTTPError, KeyError, IndexError, ValueError):
            # A router that is down must not stop a booking: estimate instead.
            pass
    distance = geodesic_m(a, b) * settings.ROAD_FACTOR
    speed_m_s = settings.AVERAGE_SPEED_KMH * 1000 / 3600
    return Leg(distance_m=round(distance), duration_s=round(distance / speed_m_s))


def _osrm_leg(a: Point, b: Point) -> Leg:
    url = f"{settings.ROUTER_URL.rstrip('/')}/route/v1/driving/{a.x},{a.y};{b.x},{b.y}"
    response = httpx.get(url, params={"overview": "false"}, timeout=settings.ROUTER_TIMEOUT)
    response.raise_for_status()
    route = response.json()["routes"][0]
    return Leg(distance_m=round(route["distance"]), duration_s=round(route["duration"]))


def approximate(point: Point, *, grid_m: int) -> Point:
    """The point snapped to a grid of about `grid_m` metres: shows the area, not the door."""
    from math import cos, radians

    lat_step = grid_m / 111_320
    lon_step = grid_m / (111_320 * max(cos(radians(point.y)), 0.01))
    return Point(
        round(round(point.x / lon_step) * lon_step, 5),
        round(round(point.y / lat_step) * lat_step, 5),
        srid=WGS84,
    )

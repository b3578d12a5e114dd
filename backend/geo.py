"""Geodata in one place: constants, geodesic distances, and the road router.

Points are (lon, lat) WGS84 `django.contrib.gis.geos.Point`s with srid 4326. Road
distances come from an OSRM-compatible router when ROUTER_URL is set, else from the
geodesic distance times a road factor (rural roads wind: 1.3 is typical in Sweden).
"""

from collections.abc import Sequence
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


def road_matrix(points: Sequence[Point]) -> tuple[list[list[int]], list[list[int]]]:
    """Driving distances (m) and times (s) between all `points`, as two square matrices:
    one OSRM `table` request when ROUTER_URL is set, else geodesic x road factor (also
    when the router fails: a plan is better than none)."""
    if settings.ROUTER_URL and len(points) > 1:
        try:
            return _osrm_matrix(points)
        except (httpx.HTTPError, KeyError, IndexError, ValueError, TypeError):
            pass
    speed_m_s = settings.AVERAGE_SPEED_KMH * 1000 / 3600
    distances = [
        [
            0 if i == j else round(geodesic_m(a, b) * settings.ROAD_FACTOR)
            for j, b in enumerate(points)
        ]
        for i, a in enumerate(points)
    ]
    durations = [[round(d / speed_m_s) for d in row] for row in distances]
    return distances, durations


def _osrm_matrix(points: Sequence[Point]) -> tuple[list[list[int]], list[list[int]]]:
    coordinates = ";".join(f"{p.x},{p.y}" for p in points)
    url = f"{settings.ROUTER_URL.rstrip('/')}/table/v1/driving/{coordinates}"
    response = httpx.get(
        url, params={"annotations": "distance,duration"}, timeout=settings.ROUTER_TIMEOUT
    )
    response.raise_for_status()
    body = response.json()
    distances = [[round(value) for value in row] for row in body["distances"]]
    durations = [[round(value) for value in row] for row in body["durations"]]
    if len(distances) != len(points) or any(len(row) != len(points) for row in distances):
        raise ValueError("router answered a matrix of another size")
    return distances, durations


def approximate(point: Point, *, grid_m: int) -> Point:
    """The point snapped to a grid of about `grid_m` metres: shows the area, not the door."""
    x, y = approximate_coords(point.x, point.y, grid_m=grid_m)
    return Point(x, y, srid=WGS84)


def approximate_coords(x: float, y: float, *, grid_m: int) -> tuple[float, float]:
    """`approximate` of the point (x, y), for rows read without building a Point."""
    from math import cos, radians

    lat_step = grid_m / 111_320
    lon_step = grid_m / (111_320 * max(cos(radians(y)), 0.01))
    return round(round(x / lon_step) * lon_step, 5), round(round(y / lat_step) * lat_step, 5)

"""The line a trip follows: from an OSRM-compatible router when ROUTER_URL is set
(`overview=simplified`, GeoJSON), else straight segments through origin, via points and
destination, with distance and time from `backend.geo.road_leg` per segment."""

import itertools
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.contrib.gis.geos import LineString, Point

from backend.geo import WGS84, road_leg


@dataclass(frozen=True)
class Route:
    line: LineString
    distance_m: int
    duration_s: int


def trip_route(points: list[Point]) -> Route:
    if settings.ROUTER_URL:
        try:
            return _osrm_route(points)
        except (httpx.HTTPError, KeyError, IndexError, ValueError, TypeError):
            pass  # a router that is down must not stop a trip: straight segments instead
    legs = [road_leg(a, b) for a, b in itertools.pairwise(points)]
    return Route(
        line=LineString([(p.x, p.y) for p in points], srid=WGS84),
        distance_m=sum(leg.distance_m for leg in legs),
        duration_s=sum(leg.duration_s for leg in legs),
    )


def _osrm_route(points: list[Point]) -> Route:
    coordinates = ";".join(f"{p.x},{p.y}" for p in points)
    url = f"{settings.ROUTER_URL.rstrip('/')}/route/v1/driving/{coordinates}"
    response = httpx.get(
        url,
        params={"overview": "simplified", "geometries": "geojson"},
        timeout=settings.ROUTER_TIMEOUT,
    )
    response.raise_for_status()
    route = response.json()["routes"][0]
    line = [(float(x), float(y)) for x, y in route["geometry"]["coordinates"]]
    if len(line) < 2:
        raise ValueError("route without a line")
    return Route(
        line=LineString(line, srid=WGS84),
        distance_m=round(route["distance"]),
        duration_s=round(route["duration"]),
    )

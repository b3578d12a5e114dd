"""Where a point goes when its exact place is no longer kept (erasure, retention).

The municipality statistics read two things from a pickup point (backend/stats/sources):
the H3 cell of the unmet-demand map (resolution STATS_H3_RESOLUTION) and, for services
that record no village, the association's village nearest to it. A point moved to a
500 m grid can cross into another cell or nearer another village, and the nightly
rebuild would then count it elsewhere. So the point goes to the centre of its H3 cell
(about 1.2 km from anywhere in a resolution 7 cell): the coarsest place that keeps both
answers. Near a border between two villages' areas the centre of a finer cell is taken,
the coarsest one whose centre still keeps both.
"""

import h3
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection

from backend.stats.sources.common import NEAREST_VILLAGE

_NEAREST = "SELECT " + NEAREST_VILLAGE.format(
    association="%(association)s", point="ST_GeogFromText(%(point)s)"
)


def _nearest_village(association_id: int, lon: float, lat: float) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            _NEAREST, {"association": association_id, "point": f"SRID=4326;POINT({lon} {lat})"}
        )
        row = cursor.fetchone()
    return row[0] if row else None


def point_for_statistics(point: Point, *, association_id: int) -> Point:
    """`point` made coarse without moving it to another cell or village in the
    statistics."""
    resolution = settings.STATS_H3_RESOLUTION
    cell = h3.latlng_to_cell(point.y, point.x, resolution)
    village = _nearest_village(association_id, point.x, point.y)
    for finer in range(resolution, 16):
        lat, lon = h3.cell_to_latlng(h3.latlng_to_cell(point.y, point.x, finer))
        lon, lat = round(lon, 6), round(lat, 6)
        if h3.latlng_to_cell(lat, lon, resolution) == cell and (
            _nearest_village(association_id, lon, lat) == village
        ):
            return Point(lon, lat, srid=4326)
    return Point(round(point.x, 6), round(point.y, 6), srid=4326)  # a cell of ~1 m2: as is


def is_coarse(point: Point | None) -> bool:
    """Whether `point` is already where `point_for_statistics` puts points (the centre of
    an H3 cell), so a retention run does not move it again. Pure: no query."""
    if point is None:
        return True
    lon, lat = round(point.x, 6), round(point.y, 6)
    if (lon, lat) != (point.x, point.y):
        return False
    for resolution in range(settings.STATS_H3_RESOLUTION, 16):
        c_lat, c_lon = h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, resolution))
        if (round(c_lon, 6), round(c_lat, 6)) == (lon, lat):
            return True
    return False

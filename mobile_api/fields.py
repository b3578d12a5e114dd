"""A GeoJSON point at the API boundary, checked so a person gets a plain message."""

from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

GEOJSON_POINT_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "description": "[longitude, latitude] in WGS84",
        },
    },
    "required": ["type", "coordinates"],
    "example": {"type": "Point", "coordinates": [14.22458, 60.50893]},
}


@extend_schema_field(GEOJSON_POINT_SCHEMA)
class PointField(serializers.Field):
    # Braces doubled: DRF formats these messages with str.format.
    default_error_messages = {
        "shape": _('Give a point as {{"type": "Point", "coordinates": [longitude, latitude]}}.'),
        "range": _("Longitude must be between -180 and 180 and latitude between -90 and 90."),
    }

    def to_internal_value(self, data) -> Point:
        if not isinstance(data, dict) or data.get("type") != "Point":
            self.fail("shape")
        coordinates = data.get("coordinates")
        if (
            not isinstance(coordinates, list)
            or len(coordinates) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
        ):
            self.fail("shape")
        lon, lat = (float(c) for c in coordinates)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            self.fail("range")
        return Point(lon, lat, srid=4326)

    def to_representation(self, value: Point) -> dict:
        return point_json(value)


def point_json(value: Point) -> dict:
    """A point as PointField shows it, without building a field for it."""
    x, y = value.coords[:2]
    return coords_json(x, y)


def coords_json(x: float, y: float) -> dict:
    """The point (x, y) as PointField shows it, for rows read without building a Point."""
    return {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, also refusing a time without an offset whose UTC instant
    falls outside the years 1-9999 ("0001-01-01T00:00:00" in Stockholm is in year 0):
    DRF checks that case only for times with an offset and raised OverflowError (a 500)."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")

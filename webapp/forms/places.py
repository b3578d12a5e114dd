"""A place on a form: an address (looked up by the geocoder when sent) or a point picked
on the map or typed as coordinates. Shared by the carpool and shop-run forms."""

from django import forms
from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _

from backend.rides.places import KnownPlace, place_point


def address_field(label, *, required: bool = True) -> forms.CharField:
    return forms.CharField(label=label, max_length=300, required=required)


def lon_field(label) -> forms.FloatField:
    return forms.FloatField(label=label, required=False, min_value=-180, max_value=180)


def lat_field(label) -> forms.FloatField:
    return forms.FloatField(label=label, required=False, min_value=-90, max_value=90)


class PlacesMixin:
    """For each name in PLACES the form has `<name>_address`, `<name>_lon`, `<name>_lat`."""

    PLACES: tuple[str, ...] = ()

    def clean_places(self, values: dict) -> None:
        for place in self.PLACES:
            lon, lat = values.get(f"{place}_lon"), values.get(f"{place}_lat")
            if (lon is None) != (lat is None):
                self.add_error(f"{place}_lat", _("Give both longitude and latitude, or neither."))

    def point(self, place: str) -> Point | None:
        lon, lat = self.cleaned_data.get(f"{place}_lon"), self.cleaned_data.get(f"{place}_lat")
        if lon is None or lat is None:
            return None
        return Point(lon, lat, srid=4326)

    def place(self, place: str, known: list[KnownPlace] | None = None) -> tuple[Point, str]:
        """The point and the address of a place: the point given, else the point of the
        address among the `known` places (`backend.rides.places`), else the address looked
        up (an ApplicationError naming the address field when it cannot be found)."""
        address = self.cleaned_data.get(f"{place}_address") or ""
        point = place_point(
            address=address, point=self.point(place), known=known, field=f"{place}_address"
        )
        return point, address

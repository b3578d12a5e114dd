"""Input and output shapes of carpooling. Input serializers only parse and check types;
the rules are in `backend.carpool` and `dispatch.carpool_matching`.

Privacy: before a seat is confirmed, the others see places as an area (the village, or a
point rounded to CARPOOL_APPROXIMATE_GRID_M) and people by first name and rating. Once
confirmed, driver and passenger see each other's exact places, full name and phone.
"""

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.accounts.models import User
from backend.carpool.models import (
    DEPARTURE_MOVE_MAX,
    Booking,
    BookingState,
    Luggage,
    SavedSearch,
    Trip,
)
from backend.geo import approximate_coords
from backend.notifications.selectors import sms_number_for
from mobile_api.fields import (
    GEOJSON_POINT_SCHEMA,
    DateTimeField,
    PointField,
    coords_json,
    point_json,
)
from mobile_api.output import FastOutput

# --- Input ------------------------------------------------------------------------------------

MOVE_MAX_HOURS = round(DEPARTURE_MOVE_MAX.total_seconds() / 3600)


class LonLatField(serializers.CharField):
    """A point in a query string: "longitude,latitude", e.g. 14.22458,60.50893."""

    default_error_messages = {
        "shape": _("Give a place as longitude,latitude, e.g. 14.22458,60.50893."),
        "range": _("Longitude must be between -180 and 180 and latitude between -90 and 90."),
    }

    def to_internal_value(self, data) -> Point:
        text = super().to_internal_value(data)
        try:
            lon, lat = (float(part) for part in text.split(","))
        except ValueError:
            self.fail("shape")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            self.fail("range")
        return Point(lon, lat, srid=4326)


class SearchInput(serializers.Serializer):
    pickup = LonLatField(help_text="Where you get in: longitude,latitude.")
    dropoff = LonLatField(help_text="Where you get out: longitude,latitude.")
    window_start = DateTimeField(help_text="Picked up from this time…")
    window_end = DateTimeField(help_text="…until this time (at most 7 days).")
    preferred_at = DateTimeField(
        required=False, help_text="Rank pickups near this time first; default: mid-window."
    )
    seats = serializers.IntegerField(default=1)
    max_walk_m = serializers.IntegerField(
        required=False, help_text="How far you walk to or from the car (default 1000 m)."
    )


class TripInput(serializers.Serializer):
    association = serializers.IntegerField(
        required=False, help_text="Default: your only association."
    )
    origin = PointField()
    origin_address = serializers.CharField(max_length=300)
    destination = PointField()
    destination_address = serializers.CharField(max_length=300)
    via = serializers.ListField(child=PointField(), required=False, max_length=5)
    departure = DateTimeField(help_text="The (first) departure.")
    rrule = serializers.CharField(
        max_length=300,
        allow_blank=True,
        default="",
        help_text="Repeat as an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR.",
    )
    seats = serializers.IntegerField()
    price_ore = serializers.IntegerField(
        required=False, help_text="Per passenger, in öre; default: the suggested share."
    )
    instant_booking = serializers.BooleanField(default=False)
    pets_allowed = serializers.BooleanField(default=False)
    luggage = serializers.ChoiceField(choices=Luggage.choices, default=Luggage.SMALL)
    smoking_allowed = serializers.BooleanField(default=False)
    note = serializers.CharField(max_length=500, allow_blank=True, default="")


class TripChangeInput(serializers.Serializer):
    """What a driver may change on a published trip (give only what changes). Where it
    goes cannot change: cancel it and offer a new one. One departure's time changes with
    POST /api/v1/carpool/departures/<id>/move."""

    seats = serializers.IntegerField(required=False)
    price_ore = serializers.IntegerField(
        required=False, help_text="Per passenger, in öre, for bookings made from now on."
    )
    instant_booking = serializers.BooleanField(required=False)
    pets_allowed = serializers.BooleanField(required=False)
    luggage = serializers.ChoiceField(choices=Luggage.choices, required=False)
    smoking_allowed = serializers.BooleanField(required=False)
    note = serializers.CharField(max_length=500, allow_blank=True, required=False)


class BookingInput(serializers.Serializer):
    departure = serializers.IntegerField(help_text="The departure (occurrence) id.")
    passenger = serializers.IntegerField(
        required=False, help_text="Who travels: you (default) or someone you book for."
    )
    seats = serializers.IntegerField(default=1)
    pickup = PointField()
    pickup_address = serializers.CharField(max_length=300, allow_blank=True, default="")
    dropoff = PointField()
    dropoff_address = serializers.CharField(max_length=300, allow_blank=True, default="")
    max_walk_m = serializers.IntegerField(required=False, min_value=0, max_value=5000)
    message = serializers.CharField(max_length=500, allow_blank=True, default="")


class RatingInput(serializers.Serializer):
    stars = serializers.IntegerField()
    comment = serializers.CharField(max_length=500, allow_blank=True, default="")


class ReportInput(serializers.Serializer):
    text = serializers.CharField(max_length=2000, allow_blank=True)


class SavedSearchInput(serializers.Serializer):
    pickup = PointField()
    pickup_address = serializers.CharField(max_length=300, allow_blank=True, default="")
    dropoff = PointField()
    dropoff_address = serializers.CharField(max_length=300, allow_blank=True, default="")
    earliest = serializers.TimeField(help_text="Picked up from (local time)…")
    latest = serializers.TimeField(help_text="…until (local time).")
    weekdays = serializers.ListField(
        child=serializers.IntegerField(), max_length=7, help_text="0 = Monday … 6 = Sunday."
    )
    until = serializers.DateField(required=False, allow_null=True)
    seats = serializers.IntegerField(default=1)
    max_walk_m = serializers.IntegerField(required=False, min_value=0, max_value=5000)


# --- Output pieces ----------------------------------------------------------------------------


class AreaOutput(FastOutput, serializers.Serializer):
    """A place as others see it before booking."""

    village = serializers.CharField(allow_null=True)
    point = serializers.JSONField(help_text="GeoJSON point rounded to about 1 km.")


def area(point: Point, village) -> dict:
    return area_at(point.x, point.y, village.name if village else None)


def area_at(x: float, y: float, village: str | None) -> dict:
    """The place (x, y) as others see it before booking: its village and a point
    snapped to the carpool grid."""
    return {
        "village": village,
        "point": coords_json(*approximate_coords(x, y, grid_m=settings.CARPOOL_APPROXIMATE_GRID_M)),
    }


class PersonBrief(FastOutput, serializers.Serializer):
    """Someone on the other side before a booking is confirmed: first name and rating."""

    id = serializers.IntegerField()
    first_name = serializers.CharField()
    rating = serializers.FloatField(allow_null=True, help_text="Average stars (1-5).")
    ratings = serializers.IntegerField(help_text="How many ratings.")


class PersonContact(PersonBrief):
    """…and once confirmed: full name and phone."""

    full_name = serializers.CharField(allow_null=True, help_text="Null until confirmed.")
    phone = serializers.CharField(allow_null=True, help_text="Null until confirmed.")


def person(user: User, ratings: dict, *, contact: bool) -> dict:
    average, count = ratings.get(user.pk, (None, 0))
    out = person_brief(user.pk, user.get_short_name(), average, count)
    if contact:
        out |= {"full_name": user.full_name, "phone": sms_number_for(user)}
    return out


def person_brief(user_id: int, first_name: str, rating: float | None, ratings: int) -> dict:
    """`person` without contact, from the figures alone."""
    return {
        "id": user_id,
        "first_name": first_name,
        "rating": rating,
        "ratings": ratings,
        "full_name": None,
        "phone": None,
    }


def price_sek(ore: int) -> float:
    return round(ore / 100, 2)


# --- Trips --------------------------------------------------------------------------------------


class DepartureBrief(serializers.Serializer):
    id = serializers.IntegerField()
    departure_at = serializers.DateTimeField()
    status = serializers.CharField()
    seats_total = serializers.IntegerField()
    seats_free = serializers.IntegerField()


class TripOutput(serializers.ModelSerializer):
    """A trip as its driver and the association's coordinators see it."""

    view = serializers.SerializerMethodField()
    origin = PointField()
    destination = PointField()
    via = serializers.SerializerMethodField()
    route = serializers.SerializerMethodField()
    price_sek = serializers.SerializerMethodField()
    max_price_sek = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()
    cancelled = serializers.SerializerMethodField()
    departures = serializers.SerializerMethodField()

    class Meta:
        model = Trip
        fields = [
            "view",
            "id",
            "association",
            "origin",
            "origin_address",
            "destination",
            "destination_address",
            "via",
            "route",
            "distance_km",
            "duration_s",
            "first_departure",
            "rrule",
            "seats",
            "price_sek",
            "max_price_sek",
            "instant_booking",
            "pets_allowed",
            "luggage",
            "smoking_allowed",
            "note",
            "cancelled",
            "departures",
        ]

    @extend_schema_field({"type": "string", "description": "driver: the full trip."})
    def get_view(self, trip: Trip) -> str:
        return "driver"

    @extend_schema_field({"type": "array", "items": GEOJSON_POINT_SCHEMA})
    def get_via(self, trip: Trip) -> list:
        return [point_json(p) for p in trip.via] if trip.via else []

    @extend_schema_field(
        {"type": "object", "description": "GeoJSON LineString ([lon, lat] pairs)."}
    )
    def get_route(self, trip: Trip) -> dict:
        return {
            "type": "LineString",
            "coordinates": [[round(x, 6), round(y, 6)] for x, y in trip.route],
        }

    def get_price_sek(self, trip: Trip) -> float:
        return price_sek(trip.price_ore)

    def get_max_price_sek(self, trip: Trip) -> float:
        return price_sek(trip.max_price_ore)

    def get_distance_km(self, trip: Trip) -> float:
        return round(trip.distance_m / 1000, 1)

    def get_cancelled(self, trip: Trip) -> bool:
        return trip.cancelled_at is not None

    @extend_schema_field(DepartureBrief(many=True))
    def get_departures(self, trip: Trip) -> list:
        """The departures still to come (prefetched as `upcoming`)."""
        return [
            {
                "id": o.pk,
                "departure_at": o.departure_at,
                "status": o.status,
                "seats_total": o.seats_total,
                "seats_free": o.seats_free,
            }
            for o in getattr(trip, "upcoming", [])
        ]


class PublicTripOutput(serializers.Serializer):
    """A trip as a passenger sees it before booking: areas, not addresses."""

    view = serializers.CharField(help_text="public")
    id = serializers.IntegerField()
    driver = PersonBrief()
    origin_area = AreaOutput()
    destination_area = AreaOutput()
    distance_km = serializers.FloatField()
    price_sek = serializers.FloatField(help_text="The whole trip, per seat.")
    instant_booking = serializers.BooleanField()
    pets_allowed = serializers.BooleanField()
    luggage = serializers.CharField()
    smoking_allowed = serializers.BooleanField()
    note = serializers.CharField()
    departures = DepartureBrief(many=True)


def public_trip(trip: Trip, ratings: dict) -> dict:
    return {
        "view": "public",
        "id": trip.pk,
        "driver": person(trip.driver, ratings, contact=False),
        "origin_area": area(trip.origin, trip.origin_village),
        "destination_area": area(trip.destination, trip.destination_village),
        "distance_km": round(trip.distance_m / 1000, 1),
        "price_sek": price_sek(trip.price_ore),
        "instant_booking": trip.instant_booking,
        "pets_allowed": trip.pets_allowed,
        "luggage": trip.luggage,
        "smoking_allowed": trip.smoking_allowed,
        "note": trip.note,
        "departures": TripOutput().get_departures(trip),
    }


# --- Search results -------------------------------------------------------------------------


class SearchResultOutput(FastOutput, serializers.Serializer):
    departure = serializers.IntegerField(help_text="Book with this id.")
    trip = serializers.IntegerField()
    departure_at = serializers.DateTimeField()
    pickup_at = serializers.DateTimeField(help_text="When the car passes your pickup.")
    dropoff_at = serializers.DateTimeField()
    walk_m = serializers.IntegerField(help_text="Your walk to and from the route.")
    detour_m = serializers.IntegerField(help_text="What fetching you adds to the driver's trip.")
    price_sek = serializers.FloatField(help_text="For your part of the trip and your seats.")
    seats_free = serializers.IntegerField()
    driver = PersonBrief()
    origin_area = AreaOutput()
    destination_area = AreaOutput()
    instant_booking = serializers.BooleanField()
    pets_allowed = serializers.BooleanField()
    luggage = serializers.CharField()
    smoking_allowed = serializers.BooleanField()
    note = serializers.CharField()


# --- Bookings -------------------------------------------------------------------------------


class BookingOutput(serializers.Serializer):
    """A booking as one side sees it. `view` is `passenger` (the passenger and whoever
    booked for them) or `driver` (the driver and the association's coordinators).

    - passenger: their own places exactly; the trip's origin and destination and the
      driver's contact once confirmed, else areas and first name.
    - driver: the passenger's pickup and drop-off exactly and their contact once
      confirmed (coordinators: never), else areas and first name.
    """

    view = serializers.CharField(help_text="passenger or driver: which side sees this.")
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=BookingState.choices)
    cancelled_by = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    departure = serializers.IntegerField()
    trip = serializers.IntegerField()
    departure_at = serializers.DateTimeField()
    departure_status = serializers.CharField()
    seats = serializers.IntegerField()
    price_sek = serializers.FloatField()
    pickup_at = serializers.DateTimeField(help_text="Estimated: when the car passes the pickup.")
    dropoff_at = serializers.DateTimeField()
    walk_m = serializers.IntegerField()
    detour_m = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    pickup = serializers.JSONField(
        allow_null=True, help_text="GeoJSON point; null when only the area may be shown."
    )
    pickup_address = serializers.CharField(allow_null=True)
    pickup_area = AreaOutput()
    dropoff = serializers.JSONField(allow_null=True)
    dropoff_address = serializers.CharField(allow_null=True)
    dropoff_area = AreaOutput()
    origin_address = serializers.CharField(allow_null=True, help_text="Trip start, once confirmed.")
    destination_address = serializers.CharField(allow_null=True)
    driver = PersonContact(help_text="For the passenger; contact fields once confirmed.")
    passenger = PersonContact(help_text="For the driver; contact fields once confirmed.")
    created_at = serializers.DateTimeField()


def booking_out(booking: Booking, *, view: str, ratings: dict, exact_for_driver: bool) -> dict:
    occurrence = booking.occurrence
    trip = occurrence.trip
    confirmed = booking.state == BookingState.CONFIRMED
    passenger_side = view == "passenger"
    show_exact = passenger_side or (exact_for_driver and confirmed)
    village = None  # areas of passengers' points are shown by rounded point only
    out = {
        "view": view,
        "id": booking.pk,
        "state": booking.state,
        "cancelled_by": booking.cancelled_by,
        "reason": booking.reason,
        "departure": occurrence.pk,
        "trip": trip.pk,
        "departure_at": occurrence.departure_at,
        "departure_status": occurrence.status,
        "seats": booking.seats,
        "price_sek": price_sek(booking.price_ore),
        "pickup_at": booking.pickup_at,
        "dropoff_at": booking.dropoff_at,
        "walk_m": booking.walk_m,
        "detour_m": booking.detour_m,
        "message": booking.message,
        "pickup": point_json(booking.pickup) if show_exact else None,
        "pickup_address": booking.pickup_address if show_exact else None,
        "pickup_area": area(booking.pickup, village),
        "dropoff": point_json(booking.dropoff) if show_exact else None,
        "dropoff_address": booking.dropoff_address if show_exact else None,
        "dropoff_area": area(booking.dropoff, village),
        "origin_address": trip.origin_address if (confirmed or not passenger_side) else None,
        "destination_address": (
            trip.destination_address if (confirmed or not passenger_side) else None
        ),
        "driver": person(trip.driver, ratings, contact=passenger_side and confirmed),
        "passenger": person(
            booking.passenger,
            ratings,
            contact=not passenger_side and exact_for_driver and confirmed,
        ),
        "created_at": booking.created_at,
    }
    return out


class DriverDepartureOutput(serializers.Serializer):
    """One of my departures as a driver, with its bookings."""

    id = serializers.IntegerField()
    trip = serializers.IntegerField()
    departure_at = serializers.DateTimeField()
    status = serializers.CharField()
    seats_total = serializers.IntegerField()
    seats_free = serializers.IntegerField()
    origin_address = serializers.CharField()
    destination_address = serializers.CharField()
    bookings = BookingOutput(many=True)


class DepartureMoveInput(serializers.Serializer):
    """A new time for one of my departures; the route stays the same."""

    departure_at = DateTimeField(
        help_text=f"The new departure time, at most {MOVE_MAX_HOURS} hours before or after the"
        " present one. A time without an offset is Swedish time."
    )


class SavedSearchOutput(serializers.ModelSerializer):
    pickup = PointField()
    dropoff = PointField()
    earliest = serializers.TimeField(format="%H:%M")
    latest = serializers.TimeField(format="%H:%M")

    class Meta:
        model = SavedSearch
        fields = [
            "id",
            "pickup",
            "pickup_address",
            "dropoff",
            "dropoff_address",
            "earliest",
            "latest",
            "weekdays",
            "until",
            "seats",
            "max_walk_m",
            "active",
            "created_at",
        ]


class RatingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    stars = serializers.IntegerField()
    comment = serializers.CharField()


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()

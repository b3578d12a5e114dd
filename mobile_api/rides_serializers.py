"""Input and output shapes of volunteer rides and drivers. Input serializers only parse
and check types; the rules are in `backend.rides` and `dispatch`.

A ride is shown in one of four shapes, chosen by who looks (`view` names it):

- `full`: the rider, whoever books for them, and the association's coordinators;
- `driver`: the driver holding the ride while it is accepted, en route or on board:
  exact places, addresses and how to reach the rider;
- `driver_past`: that driver once the ride has closed: the approximate area only;
- `offer`: a driver with a pending offer: what the offer says, nothing more.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.accounts.models import short_name
from backend.community.models import Association
from backend.notifications.selectors import sms_number_for
from backend.rides.models import (
    DRIVER_HOLDS,
    AvailabilityException,
    AvailabilitySlot,
    ClaimState,
    DriverProfile,
    ExceptionKind,
    MileageClaim,
    Need,
    RiderApproval,
    RideRequest,
    RideState,
    TimeKind,
)
from backend.rides.selectors import km_in_tenths
from backend.rides.services import (
    DRIVER_STEPS,
    local_time,
    pickup_area,
    pickup_area_coords,
    ride_begins,
)
from dispatch.offers import offer_payload
from mobile_api.fields import (
    GEOJSON_POINT_SCHEMA,
    DateTimeField,
    PointField,
    coords_json,
    point_json,
)
from mobile_api.output import FastOutput
from mobile_api.serializers import PersonOutput

# --- Requesting a ride ---------------------------------------------------------------------


class PlaceInput(serializers.Serializer):
    address = serializers.CharField(max_length=300)
    point = PointField(
        required=False, help_text="The exact place; without it the address is looked up."
    )


class RideTimeInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TimeKind.choices)
    at = DateTimeField(
        required=False,
        allow_null=True,
        help_text="The pickup time (pickup_at) or the arrival time (arrive_by).",
    )
    window_start = DateTimeField(required=False, allow_null=True, help_text="Any pickup from here…")
    window_end = DateTimeField(
        required=False, allow_null=True, help_text="…until here is fine (at most 14 days)."
    )


# Documented as the choices they are (the same enum as the needs of a ride shown).
@extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Need.choices)))
class NeedsField(serializers.ListField):
    """Needs as strings: an unknown one is refused by the service with `needs_unknown`
    and the list of the needs it knows, which says more than a generic choice error."""


class RideRequestInput(serializers.Serializer):
    rider = serializers.IntegerField(
        required=False, help_text="Who travels: you (the default) or someone you book for."
    )
    association = serializers.PrimaryKeyRelatedField(
        queryset=Association.objects.all(),
        required=False,
        help_text="Which association drives; default: the only one that approved the rider.",
    )
    pickup = PlaceInput()
    destination = PlaceInput()
    time = RideTimeInput()
    return_at = DateTimeField(
        required=False, allow_null=True, help_text="Also book the way back, picked up then."
    )
    passengers = serializers.IntegerField(default=1)
    needs = NeedsField(
        child=serializers.CharField(max_length=40),
        default=list,
        max_length=len(Need),
        help_text="Any of: " + ", ".join(Need.values) + ".",
    )
    note = serializers.CharField(max_length=500, allow_blank=True, default="")


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True, default="")


class CancelInput(ReasonInput):
    with_return = serializers.BooleanField(
        default=False,
        help_text="Also cancel the ride's return trip (`return_ride`) when it is not yet "
        "done or cancelled, in one go: both or neither. Default: only this ride.",
    )


class RequiredReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True)


class CompleteInput(serializers.Serializer):
    driven_m = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Metres driven, for the mileage claim; default: the planned trip. More "
        "than the ride can take (the error `driven_too_far` says how much it can) needs "
        "`explanation`: the ride then counts what it can take until a coordinator approves "
        "the claim.",
    )
    explanation = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="Why further than the ride can take (a detour, a closed road), for the "
        "coordinator who approves the kilometres beyond it. Ignored when `driven_m` is "
        "within what the ride can take.",
    )


class AssignInput(serializers.Serializer):
    driver = serializers.IntegerField(help_text="The driver profile's id.")


# --- A ride, as each viewer sees it ----------------------------------------------------------


def _view(name: str) -> dict:
    return {"type": "string", "enum": [name], "description": "Which shape this is."}


class VillageBrief(FastOutput, serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RideDriverOutput(FastOutput, serializers.ModelSerializer):
    """The driver, for the rider's side once someone has taken the ride."""

    full_name = serializers.CharField(source="membership.user.full_name")
    phone = serializers.CharField(source="membership.user.phone")
    car = serializers.CharField(source="vehicle_description")

    class Meta:
        model = DriverProfile
        fields = ["id", "full_name", "phone", "car"]


class RideOutput(FastOutput, serializers.ModelSerializer):
    """Everything about the ride: for the rider, whoever books for them, coordinators."""

    view = serializers.SerializerMethodField()
    rider = PersonOutput()
    village = VillageBrief(allow_null=True)
    pickup = PointField()
    destination = PointField()
    driver = RideDriverOutput(allow_null=True)
    distance_km = serializers.SerializerMethodField()
    return_ride = serializers.SerializerMethodField()

    class Meta:
        model = RideRequest
        fields = [
            "view",
            "id",
            "state",
            "rider",
            "requested_by",
            "association",
            "village",
            "pickup",
            "pickup_address",
            "destination",
            "destination_address",
            "time_kind",
            "earliest_pickup",
            "latest_pickup",
            "arrive_by",
            "planned_pickup",
            "passengers",
            "needs",
            "note",
            "distance_km",
            "return_of",
            "return_ride",
            "driver",
            "created_at",
            "accepted_at",
            "closed_at",
            "driven_m",
        ]

    @extend_schema_field(_view("full"))
    def get_view(self, ride: RideRequest) -> str:
        return "full"

    def get_distance_km(self, ride: RideRequest) -> float:
        return round(ride.distance_m / 1000, 1)

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_return_ride(self, ride: RideRequest) -> int | None:
        back = getattr(ride, "return_ride", None)
        return back.pk if back is not None else None


# How the serializers show a date and time (in the current time zone, ISO 8601).
_datetime_json = serializers.DateTimeField().to_representation


def ride_row_output(row: dict) -> dict:
    """RideOutput of a ride read as a row (`ride_rows_of_riders`): the same JSON, built
    without model instances (tests/mobile_api/test_ride_rows_output.py compares them)."""
    return {
        "view": "full",
        "id": row["id"],
        "state": row["state"],
        "rider": {
            "id": row["rider_id"],
            "full_name": row["rider_full_name"],
            "phone": row["rider_phone"],
            "is_managed": row["rider_is_managed"],
        },
        "requested_by": row["requested_by_id"],
        "association": row["association_id"],
        "village": _village_json(row),
        "pickup": coords_json(row["pickup_x"], row["pickup_y"]),
        "pickup_address": row["pickup_address"],
        "destination": coords_json(row["destination_x"], row["destination_y"]),
        "destination_address": row["destination_address"],
        "time_kind": row["time_kind"],
        "earliest_pickup": _datetime_json(row["earliest_pickup"]),
        "latest_pickup": _datetime_json(row["latest_pickup"]),
        "arrive_by": _datetime_json(row["arrive_by"]),
        "planned_pickup": _datetime_json(row["planned_pickup"]),
        "passengers": row["passengers"],
        "needs": list(row["needs"]),
        "note": row["note"],
        "distance_km": round(row["distance_m"] / 1000, 1),
        "return_of": row["return_of_id"],
        "return_ride": row["return_ride_id"],
        "driver": None
        if row["driver_id"] is None
        else {
            "id": row["driver_id"],
            "full_name": row["driver_full_name"],
            "phone": row["driver_phone"],
            "car": row["driver_car"],
        },
        "created_at": _datetime_json(row["created_at"]),
        "accepted_at": _datetime_json(row["accepted_at"]),
        "closed_at": _datetime_json(row["closed_at"]),
        "driven_m": row["driven_m"],
    }


def _village_json(row: dict) -> dict | None:
    """VillageBrief of the row's village (`village_id`, `village_name`)."""
    if row["village_id"] is None:
        return None
    return {"id": row["village_id"], "name": row["village_name"]}


class RiderContactOutput(serializers.Serializer):
    full_name = serializers.CharField()
    phone = serializers.CharField(
        help_text="Their phone, or for someone without one the relative who takes their calls."
    )


class DriverRideOutput(serializers.ModelSerializer):
    """For the driver while they hold the ride: where exactly, and whom to call."""

    view = serializers.SerializerMethodField()
    village = VillageBrief(allow_null=True)
    pickup = PointField()
    destination = PointField()
    rider = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()

    class Meta:
        model = RideRequest
        fields = [
            "view",
            "id",
            "state",
            "village",
            "pickup",
            "pickup_address",
            "destination",
            "destination_address",
            "time_kind",
            "earliest_pickup",
            "latest_pickup",
            "arrive_by",
            "planned_pickup",
            "passengers",
            "needs",
            "note",
            "distance_km",
            "rider",
        ]

    @extend_schema_field(_view("driver"))
    def get_view(self, ride: RideRequest) -> str:
        return "driver"

    @extend_schema_field(RiderContactOutput)
    def get_rider(self, ride: RideRequest) -> dict:
        return {"full_name": ride.rider.full_name, "phone": sms_number_for(ride.rider)}

    def get_distance_km(self, ride: RideRequest) -> float:
        return round(ride.distance_m / 1000, 1)


class DriverPastRideOutput(serializers.ModelSerializer):
    """For the driver once the ride has closed: the approximate area, no person."""

    view = serializers.SerializerMethodField()
    village = VillageBrief(allow_null=True)
    area = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()

    class Meta:
        model = RideRequest
        fields = [
            "view",
            "id",
            "state",
            "village",
            "area",
            "planned_pickup",
            "passengers",
            "needs",
            "distance_km",
            "driven_m",
            "closed_at",
        ]

    @extend_schema_field(_view("driver_past"))
    def get_view(self, ride: RideRequest) -> str:
        return "driver_past"

    @extend_schema_field(GEOJSON_POINT_SCHEMA)
    def get_area(self, ride: RideRequest) -> dict:
        return point_json(pickup_area(ride))

    def get_distance_km(self, ride: RideRequest) -> float:
        return round(ride.distance_m / 1000, 1)


class OfferOutput(serializers.Serializer):
    """A ride offered to me: the village, the approximate area, the time, the distance
    and the needs. No address, no name, no phone number."""

    offer = serializers.IntegerField()
    ride = serializers.IntegerField()
    when = serializers.CharField(help_text="Pickup, local time (YYYY-MM-DD HH:MM).")
    village = serializers.CharField()
    area = serializers.ListField(
        child=serializers.FloatField(),
        help_text="[longitude, latitude] of the area (about 500 m), not the door.",
    )
    km = serializers.FloatField()
    needs = serializers.CharField(help_text="Comma-separated needs.")
    passengers = serializers.IntegerField()
    state = serializers.CharField()

    def to_representation(self, offer) -> dict:
        return {**offer_payload(offer), "state": offer.state}


def offer_row_output(row: dict) -> dict:
    """OfferOutput (`offer_payload` and the state) of an offer read as a row
    (`pending_offer_rows`): the same JSON, built without model instances."""
    area = pickup_area_coords(row["pickup_x"], row["pickup_y"])
    return {
        "offer": row["id"],
        "ride": row["ride_id"],
        "when": local_time(row["pickup_at"]),
        "village": row["village_name"] or "",
        "area": list(area),
        "km": round(row["distance_m"] / 1000, 1),
        "needs": ", ".join(row["needs"]),
        "passengers": row["passengers"],
        "state": row["state"],
    }


class RideOfferViewOutput(OfferOutput):
    view = serializers.SerializerMethodField()
    state = None

    @extend_schema_field(_view("offer"))
    def get_view(self, offer) -> str:
        return "offer"

    def to_representation(self, offer) -> dict:
        return {"view": "offer", **offer_payload(offer)}


class RideEventOutput(serializers.Serializer):
    """One line of the ride's history: a change of state or something about an offer."""

    at = serializers.DateTimeField()
    event = serializers.ChoiceField(
        choices=[
            "state",
            "offer_sent",
            "offer_accepted",
            "offer_declined",
            "offer_expired",
            "offer_withdrawn",
            "assigned",
        ]
    )
    from_state = serializers.CharField(allow_blank=True)
    to_state = serializers.CharField(allow_blank=True)
    actor = serializers.CharField(allow_null=True, help_text="Who did it (none: the system).")
    driver = serializers.CharField(allow_null=True, help_text="The driver an offer went to.")
    reason = serializers.CharField(allow_blank=True)


class SuggestionOutput(serializers.Serializer):
    driver = serializers.IntegerField(help_text="The driver profile's id (to assign).")
    full_name = serializers.CharField()
    phone = serializers.CharField()
    car = serializers.CharField()
    distance_km = serializers.FloatField()
    pickup_at = serializers.DateTimeField(help_text="The earliest pickup the driver can make.")
    recent_rides = serializers.IntegerField(help_text="Rides in the last 30 days.")


class MileageRowOutput(serializers.Serializer):
    driver = serializers.IntegerField()
    driver_name = serializers.CharField()
    rides = serializers.IntegerField()
    km = serializers.FloatField()
    amount_sek = serializers.DecimalField(max_digits=12, decimal_places=2)


class MileageClaimQuery(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=ClaimState.choices,
        default=ClaimState.PENDING,
        help_text="pending (default): every claim still waiting, whatever its month; "
        "approved or declined: those on rides of `month`.",
    )


class MileageClaimRowOutput(serializers.Serializer):
    """A driver's claim of kilometres beyond what a ride can take, for its association's
    coordinators to decide on (the console's mileage page shows the same)."""

    id = serializers.IntegerField()
    ride = serializers.IntegerField(source="ride_id")
    ride_at = serializers.SerializerMethodField(help_text="The ride's pickup time.")
    driver = serializers.IntegerField(source="ride.driver_id", allow_null=True)
    driver_name = serializers.SerializerMethodField()
    estimate_km = serializers.SerializerMethodField(help_text="The trip's estimate.")
    allowed_km = serializers.SerializerMethodField(
        help_text="The most the ride counts unless the claim is approved."
    )
    claimed_km = serializers.SerializerMethodField()
    explanation = serializers.CharField(help_text="Why the driver drove further.")
    state = serializers.ChoiceField(choices=ClaimState.choices)
    decided_at = DateTimeField(allow_null=True)
    decline_reason = serializers.CharField(help_text="Why it was not approved (declined).")
    created_at = DateTimeField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_ride_at(self, claim: MileageClaim) -> str:
        return DateTimeField().to_representation(ride_begins(claim.ride))

    def get_driver_name(self, claim: MileageClaim) -> str:
        driver = claim.ride.driver
        return driver.membership.user.full_name if driver else ""

    def get_estimate_km(self, claim: MileageClaim) -> float:
        return km_in_tenths(claim.ride.distance_m)

    def get_allowed_km(self, claim: MileageClaim) -> float:
        return km_in_tenths(claim.allowed_m)

    def get_claimed_km(self, claim: MileageClaim) -> float:
        return km_in_tenths(claim.claimed_m)


class RiderApprovalInput(serializers.Serializer):
    notes = serializers.CharField(max_length=2000, allow_blank=True, default="")


class RiderApprovalOutput(serializers.ModelSerializer):
    class Meta:
        model = RiderApproval
        fields = ["membership", "approved_by", "approved_at", "notes"]


# --- Drivers ---------------------------------------------------------------------------------


class DriverProfileInput(serializers.Serializer):
    """Fields left out keep their value; a new profile needs `home_base`."""

    home_base = PointField(required=False)
    service_radius_m = serializers.IntegerField(required=False)
    seats = serializers.IntegerField(required=False, help_text="Passenger seats.")
    wheelchair_accessible = serializers.BooleanField(required=False)
    walker_space = serializers.BooleanField(required=False)
    child_seat = serializers.BooleanField(required=False)
    takes_guide_dog = serializers.BooleanField(required=False)
    vehicle_description = serializers.CharField(max_length=100, allow_blank=True, required=False)
    active = serializers.BooleanField(required=False)


class DriverProfileOutput(serializers.ModelSerializer):
    association = serializers.IntegerField(source="membership.association_id")
    home_base = PointField()

    class Meta:
        model = DriverProfile
        fields = [
            "id",
            "association",
            "home_base",
            "service_radius_m",
            "seats",
            "wheelchair_accessible",
            "walker_space",
            "child_seat",
            "takes_guide_dog",
            "vehicle_description",
            "active",
            "on_duty",
        ]


class AvailabilitySlotSerializer(serializers.ModelSerializer):
    weekday = serializers.IntegerField(help_text="0 = Monday … 6 = Sunday.")
    start = serializers.TimeField(format="%H:%M")
    end = serializers.TimeField(format="%H:%M")

    class Meta:
        model = AvailabilitySlot
        fields = ["weekday", "start", "end"]


class AvailabilityInput(serializers.Serializer):
    association = serializers.IntegerField(
        required=False, help_text="Default: the only association you drive for."
    )
    slots = AvailabilitySlotSerializer(many=True, max_length=50)


class AvailabilityOutput(serializers.Serializer):
    association = serializers.IntegerField()
    slots = AvailabilitySlotSerializer(many=True)


class AvailabilityExceptionInput(serializers.Serializer):
    association = serializers.IntegerField(required=False)
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=ExceptionKind.choices)
    start = serializers.TimeField(required=False, allow_null=True)
    end = serializers.TimeField(
        required=False, allow_null=True, help_text="Away without times: the whole day."
    )


class AvailabilityExceptionOutput(serializers.ModelSerializer):
    start = serializers.TimeField(format="%H:%M", allow_null=True)
    end = serializers.TimeField(format="%H:%M", allow_null=True)

    class Meta:
        model = AvailabilityException
        fields = ["id", "date", "kind", "start", "end"]


class DutyInput(serializers.Serializer):
    association = serializers.IntegerField(required=False)
    on_duty = serializers.BooleanField()


class PositionInput(serializers.Serializer):
    association = serializers.IntegerField(required=False)
    point = PointField()


class PositionOutput(serializers.Serializer):
    sent_to = serializers.IntegerField(help_text="How many riders were shown the position.")


class MileageClaimOutput(serializers.Serializer):
    """Kilometres claimed beyond what the ride can take, and what became of the claim."""

    claimed_km = serializers.SerializerMethodField()
    allowed_km = serializers.SerializerMethodField(
        help_text="What the ride counts unless the claim is approved."
    )
    state = serializers.ChoiceField(choices=ClaimState.choices)
    decline_reason = serializers.CharField(help_text="Why it was not approved (declined).")

    def get_claimed_km(self, claim: MileageClaim) -> float:
        return round(claim.claimed_m / 1000, 1)

    def get_allowed_km(self, claim: MileageClaim) -> float:
        return round(claim.allowed_m / 1000, 1)


class LogbookRowOutput(serializers.Serializer):
    ride = serializers.IntegerField(source="pk")
    date = serializers.SerializerMethodField()
    village = serializers.CharField(source="village.name", default="")
    km = serializers.SerializerMethodField()
    claim = serializers.SerializerMethodField(
        help_text="Kilometres claimed beyond what the ride can take, or null."
    )

    @extend_schema_field(OpenApiTypes.DATE)
    def get_date(self, ride: RideRequest) -> str:
        # The day of the ride, as the driver remembers it (the mileage months count it
        # in the month it was completed).
        return timezone.localdate(ride.planned_pickup or ride.closed_at).isoformat()

    def get_km(self, ride: RideRequest) -> float:
        return round((ride.driven_m or ride.distance_m) / 1000, 1)

    @extend_schema_field(MileageClaimOutput(allow_null=True))
    def get_claim(self, ride: RideRequest) -> dict | None:
        claim = getattr(ride, "mileage_claim", None)
        return MileageClaimOutput(claim).data if claim is not None else None


class DriverRideRowOutput(FastOutput, serializers.ModelSerializer):
    """One of my rides as a driver. While I hold it: where exactly (addresses and points)
    and which steps I can take next. Once it has closed: the approximate area only."""

    state_label = serializers.CharField(source="get_state_display")
    village = VillageBrief(allow_null=True)
    rider_first_name = serializers.SerializerMethodField()
    pickup_at = serializers.DateTimeField(source="planned_pickup")
    pickup = serializers.SerializerMethodField()
    pickup_address = serializers.SerializerMethodField()
    destination = serializers.SerializerMethodField()
    destination_address = serializers.SerializerMethodField()
    area = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()
    next_steps = serializers.SerializerMethodField()

    class Meta:
        model = RideRequest
        fields = [
            "id",
            "state",
            "state_label",
            "association",
            "village",
            "rider_first_name",
            "pickup_at",
            "pickup",
            "pickup_address",
            "destination",
            "destination_address",
            "area",
            "passengers",
            "needs",
            "distance_km",
            "driven_m",
            "closed_at",
            "next_steps",
        ]

    @staticmethod
    def _held(ride: RideRequest) -> bool:
        return ride.state in DRIVER_HOLDS

    def get_rider_first_name(self, ride: RideRequest) -> str:
        return ride.rider.get_short_name()

    @extend_schema_field({**GEOJSON_POINT_SCHEMA, "nullable": True})
    def get_pickup(self, ride: RideRequest) -> dict | None:
        return point_json(ride.pickup) if self._held(ride) else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_pickup_address(self, ride: RideRequest) -> str | None:
        return ride.pickup_address if self._held(ride) else None

    @extend_schema_field({**GEOJSON_POINT_SCHEMA, "nullable": True})
    def get_destination(self, ride: RideRequest) -> dict | None:
        return point_json(ride.destination) if self._held(ride) else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_destination_address(self, ride: RideRequest) -> str | None:
        return ride.destination_address if self._held(ride) else None

    @extend_schema_field(GEOJSON_POINT_SCHEMA)
    def get_area(self, ride: RideRequest) -> dict:
        return point_json(pickup_area(ride))

    def get_distance_km(self, ride: RideRequest) -> float:
        return round(ride.distance_m / 1000, 1)

    @extend_schema_field({"type": "array", "items": {"type": "string", "enum": list(DRIVER_STEPS)}})
    def get_next_steps(self, ride: RideRequest) -> list[str]:
        """POST /api/v1/rides/<id>/<step> for each."""
        return _next_steps(ride.state)


def _next_steps(state: str) -> list[str]:
    return [step for step, states in DRIVER_STEPS.items() if state in states]


def driver_ride_row_output(row: dict) -> dict:
    """DriverRideRowOutput of a ride read as a row (`driver_ride_rows`): the same JSON,
    built without model instances."""
    held = row["state"] in DRIVER_HOLDS
    return {
        "id": row["id"],
        "state": row["state"],
        "state_label": str(RideState(row["state"]).label),
        "association": row["association_id"],
        "village": _village_json(row),
        "rider_first_name": short_name(row["rider_full_name"]),
        "pickup_at": _datetime_json(row["planned_pickup"]),
        "pickup": coords_json(row["pickup_x"], row["pickup_y"]) if held else None,
        "pickup_address": row["pickup_address"] if held else None,
        "destination": coords_json(row["destination_x"], row["destination_y"]) if held else None,
        "destination_address": row["destination_address"] if held else None,
        "area": coords_json(*pickup_area_coords(row["pickup_x"], row["pickup_y"])),
        "passengers": row["passengers"],
        "needs": list(row["needs"]),
        "distance_km": round(row["distance_m"] / 1000, 1),
        "driven_m": row["driven_m"],
        "closed_at": _datetime_json(row["closed_at"]),
        "next_steps": _next_steps(row["state"]),
    }


class RidePlacesQuery(serializers.Serializer):
    rider = serializers.IntegerField(
        required=False, help_text="Whose places: you (the default) or someone you book for."
    )
    association = serializers.IntegerField(
        required=False,
        help_text="The association you book with. A coordinator booking for a member names "
        "it, and gets the places of that association's rides only.",
    )


class KnownPlaceOutput(serializers.Serializer):
    """A place the rider knows: send `address` and `point` back as a ride's `pickup` or
    `destination` and it is booked there without the address being looked up."""

    address = serializers.CharField()
    point = PointField()
    is_home = serializers.BooleanField(help_text="The rider's home (first when known).")

"""Input and output shapes of shared cars, tools and rooms. Inputs only parse and check
types; the rules are in `backend.sharing.services`.

What a viewer sees of a resource depends on who they are: everyone sees what it is, its
price and rules and roughly where it is; the exact place, where to fetch it and where the
key is go only to its managers (owner, coordinators) and to people holding a confirmed
booking. A resident's own thing is shown on a coarse grid until then, since it stands at
their home.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.geo import approximate
from backend.sharing.models import (
    ApprovalMode,
    Booking,
    BookingStatus,
    Fuel,
    ProblemKind,
    Resource,
    ResourceKind,
    ResourcePhoto,
)
from mobile_api.fields import GEOJSON_POINT_SCHEMA, DateTimeField, PointField, point_json
from mobile_api.output import FastOutput

# --- Resources -------------------------------------------------------------------------------


class ResourceSearchInput(serializers.Serializer):
    lon = serializers.FloatField(
        required=False, min_value=-180, max_value=180, help_text="Default: your home."
    )
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    radius_m = serializers.IntegerField(default=20_000, min_value=100, max_value=200_000)
    kind = serializers.ChoiceField(choices=ResourceKind.choices, required=False)
    category = serializers.CharField(max_length=50, required=False)
    q = serializers.CharField(
        max_length=100, required=False, help_text="Words in the title or text."
    )
    available_from = DateTimeField(required=False)
    available_until = DateTimeField(required=False)
    limit = serializers.IntegerField(default=50, min_value=1, max_value=100)

    def validate(self, data: dict) -> dict:
        if ("lon" in data) != ("lat" in data):
            raise serializers.ValidationError({"lat": [_("Give both lon and lat.")]})
        if ("available_from" in data) != ("available_until" in data):
            raise serializers.ValidationError(
                {"available_until": [_("Give both the start and the end of the period.")]}
            )
        if "available_from" in data and data["available_from"] >= data["available_until"]:
            raise serializers.ValidationError(
                {"available_until": [_("The end must be after the start.")]}
            )
        return data


class ResourceInput(serializers.Serializer):
    """Fields left out keep their value (PATCH) or take their default (POST)."""

    association = serializers.IntegerField(required=False, help_text="Where it is listed (POST).")
    lend_as_owner = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A coordinator lending their own thing rather than the association's.",
    )
    kind = serializers.ChoiceField(choices=ResourceKind.choices, required=False)
    category = serializers.CharField(max_length=50, required=False)
    title = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    location = PointField(required=False)
    pickup_instructions = serializers.CharField(max_length=300, allow_blank=True, required=False)
    rules = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    deposit_ore = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    price_per_hour_ore = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    price_per_day_ore = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    price_per_km_ore = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    approval_mode = serializers.ChoiceField(choices=ApprovalMode.choices, required=False)
    requires_clearance = serializers.BooleanField(required=False)
    min_minutes = serializers.IntegerField(min_value=15, max_value=90 * 24 * 60, required=False)
    max_minutes = serializers.IntegerField(min_value=15, max_value=90 * 24 * 60, required=False)
    buffer_minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60, required=False)
    active = serializers.BooleanField(required=False)
    seats = serializers.IntegerField(min_value=1, max_value=9, required=False, allow_null=True)
    fuel = serializers.ChoiceField(choices=Fuel.choices, required=False, allow_blank=True)
    odometer_km = serializers.IntegerField(
        min_value=0, max_value=5_000_000, required=False, allow_null=True
    )
    key_location = serializers.CharField(max_length=200, allow_blank=True, required=False)


class ResourcePhotoOutput(FastOutput, serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ResourcePhoto
        fields = ["id", "url", "width", "height"]

    def get_url(self, photo: ResourcePhoto) -> str:
        return photo.image.url


class SharingAssociationBrief(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ResourceOutput(serializers.ModelSerializer):
    """A resource as anyone logged in sees it (in search results and on its page)."""

    association = serializers.SerializerMethodField()
    owner_name = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    location_is_approximate = serializers.SerializerMethodField()
    distance_m = serializers.SerializerMethodField()
    photos = ResourcePhotoOutput(many=True)

    class Meta:
        model = Resource
        fields = [
            "id",
            "kind",
            "category",
            "title",
            "description",
            "association",
            "owner_name",
            "location",
            "location_is_approximate",
            "distance_m",
            "rules",
            "deposit_ore",
            "price_per_hour_ore",
            "price_per_day_ore",
            "price_per_km_ore",
            "approval_mode",
            "requires_clearance",
            "min_minutes",
            "max_minutes",
            "buffer_minutes",
            "active",
            "out_of_service",
            "seats",
            "fuel",
            "odometer_km",
            "photos",
        ]

    def _exact(self, resource: Resource) -> bool:
        return resource.owner_id is None or self.context.get("privileged", False)

    # Search results carry `association_name` and `owner_full_name` from their one query;
    # a resource loaded otherwise has them through select_related.
    @extend_schema_field(SharingAssociationBrief)
    def get_association(self, resource: Resource) -> dict:
        name = getattr(resource, "association_name", None) or resource.association.name
        return {"id": resource.association_id, "name": name}

    @extend_schema_field({"type": "string", "nullable": True})
    def get_owner_name(self, resource: Resource) -> str | None:
        """First name of a resident who lends it (the association otherwise)."""
        if resource.owner_id is None:
            return None
        full_name = getattr(resource, "owner_full_name", None) or resource.owner.full_name
        return full_name.split(" ")[0]

    @extend_schema_field(GEOJSON_POINT_SCHEMA)
    def get_location(self, resource: Resource) -> dict:
        point = resource.location
        if not self._exact(resource):
            point = approximate(point, grid_m=settings.SHARING_APPROXIMATE_GRID_M)
        return point_json(point)

    def get_location_is_approximate(self, resource: Resource) -> bool:
        return not self._exact(resource)

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_distance_m(self, resource: Resource) -> int | None:
        distance = getattr(resource, "distance_m", None)
        return round(distance) if distance is not None else None


class ResourceSearchOutput(FastOutput, ResourceOutput):
    """ResourceOutput of search results, with its fields built once: nobody is privileged
    in a search (no context), so a resident's own thing is always shown on the grid. The
    results come with their photos read (`with_photos`)."""

    photos = ResourcePhotoOutput(many=True, source="photo_list")


class ResourceDetailOutput(ResourceOutput):
    """For the owner, coordinators and people with a confirmed booking: where exactly
    and where the key is (empty strings for everyone else)."""

    pickup_instructions = serializers.SerializerMethodField()
    key_location = serializers.SerializerMethodField()
    manage = serializers.SerializerMethodField()

    class Meta(ResourceOutput.Meta):
        fields = [*ResourceOutput.Meta.fields, "pickup_instructions", "key_location", "manage"]

    def get_pickup_instructions(self, resource: Resource) -> str:
        return resource.pickup_instructions if self.context.get("privileged") else ""

    def get_key_location(self, resource: Resource) -> str:
        return resource.key_location if self.context.get("privileged") else ""

    def get_manage(self, resource: Resource) -> bool:
        """The viewer may edit it and approve its bookings."""
        return bool(self.context.get("manager"))


class ResourceCalendarInput(serializers.Serializer):
    since = DateTimeField(required=False, help_text="Default: now.")
    until = DateTimeField(required=False, help_text="Default: 30 days on; at most 92.")


class BusySlotOutput(serializers.Serializer):
    """A taken time. `booking` and `status` are shown to its managers and its booker;
    others see `busy`."""

    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    blocked_until = serializers.DateTimeField(help_text="Free again from here (buffer included).")
    status = serializers.CharField()
    booking = serializers.SerializerMethodField()
    booker_name = serializers.SerializerMethodField()

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_booking(self, slot) -> int | None:
        return slot.booking.pk if slot.booking else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_booker_name(self, slot) -> str | None:
        return slot.booking.booker.full_name if slot.booking else None


class ClearanceInput(serializers.Serializer):
    user = serializers.IntegerField()
    note = serializers.CharField(max_length=300, allow_blank=True, default="")


class ResourcePhotoInput(serializers.Serializer):
    image = serializers.FileField()


class CalendarFeedOutput(serializers.Serializer):
    url = serializers.URLField(
        help_text="Subscribe to this in the phone's calendar. Keep it secret."
    )


# --- Bookings -----------------------------------------------------------------------------


class SharingBookingInput(serializers.Serializer):
    starts_at = DateTimeField()
    ends_at = DateTimeField()
    booker = serializers.IntegerField(
        required=False, help_text="Who borrows: you (default) or someone you book for."
    )
    note = serializers.CharField(max_length=500, allow_blank=True, default="")


class WaitlistInput(serializers.Serializer):
    starts_at = DateTimeField()
    ends_at = DateTimeField()


class BookingReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True, default="")


class BookingReadingInput(serializers.Serializer):
    odometer_km = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=5_000_000,
        help_text="Cars: the odometer now.",
    )
    condition = serializers.CharField(max_length=2000, allow_blank=True, default="")
    photos = serializers.ListField(child=serializers.ImageField(), required=False, max_length=8)


class ProblemReportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ProblemKind.choices)
    text = serializers.CharField(max_length=2000)
    booking = serializers.IntegerField(required=False, allow_null=True)
    photos = serializers.ListField(child=serializers.ImageField(), required=False, max_length=8)


class ProblemReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    out_of_service = serializers.BooleanField(source="resource.out_of_service")


class WaitlistOutput(serializers.Serializer):
    id = serializers.IntegerField()
    resource = serializers.IntegerField(source="resource_id")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class ResourceBrief(serializers.ModelSerializer):
    class Meta:
        model = Resource
        fields = ["id", "kind", "title"]


class BookingPersonBrief(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class BookingAccessOutput(serializers.Serializer):
    """How to get it: only while the booking is confirmed or the thing is out."""

    location = PointField()
    pickup_instructions = serializers.CharField()
    key_location = serializers.CharField()


HAS_ACCESS = {BookingStatus.CONFIRMED, BookingStatus.CHECKED_OUT, BookingStatus.OVERDUE}


class SharingBookingOutput(serializers.ModelSerializer):
    resource = ResourceBrief()
    booker = BookingPersonBrief()
    access = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "resource",
            "booker",
            "status",
            "starts_at",
            "ends_at",
            "blocked_until",
            "note",
            "reason",
            "estimated_cost_ore",
            "created_at",
            "decided_at",
            "checked_out_at",
            "returned_at",
            "odometer_out",
            "odometer_in",
            "odometer_flag",
            "km_driven",
            "cost_ore",
            "condition_out",
            "condition_in",
            "access",
        ]

    @extend_schema_field(BookingAccessOutput(allow_null=True))
    def get_access(self, booking: Booking) -> dict | None:
        if booking.status not in HAS_ACCESS:
            return None
        return BookingAccessOutput(booking.resource).data

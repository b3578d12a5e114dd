"""Shared cars, tools and rooms: the catalogue, bookings and what happens around a loan.

The invariant that matters most lives in the database: two bookings of one resource in
an active state never overlap, buffer included (`booking_no_overlap`, an exclusion
constraint over `tstzrange(starts_at, blocked_until)` with btree_gist for the resource).
"""

import secrets

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.community.models import Association
from backend.sharing.ranges import BlockedRange


class ResourceKind(models.TextChoices):
    CAR = "car", _("car")
    TOOL = "tool", _("tool or equipment")
    ROOM = "room", _("room")


class ApprovalMode(models.TextChoices):
    AUTOMATIC = "automatic", _("booked at once")
    OWNER = "owner", _("the owner approves")
    MEMBERS = "members", _("members only, booked at once")


class Fuel(models.TextChoices):
    PETROL = "petrol", _("petrol")
    DIESEL = "diesel", _("diesel")
    ELECTRIC = "electric", _("electric")
    HYBRID = "hybrid", _("hybrid")
    BIOGAS = "biogas", _("biogas")


class Resource(models.Model):
    """Something the village shares. It is always listed by an association (whose
    coordinators look after it); `owner` is set when a resident lends their own."""

    association = models.ForeignKey(Association, on_delete=models.PROTECT, related_name="resources")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shared_resources",
        help_text=_("The resident who lends it; empty when the association owns it."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ResourceKind.choices)
    category = models.CharField(_("category"), max_length=50)  # lower case: "trailer"
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    location = models.PointField(_("location"), geography=True, srid=4326)
    # Where exactly to fetch it: only for people with a booking, the owner and coordinators.
    pickup_instructions = models.CharField(_("where to fetch it"), max_length=300, blank=True)
    rules = models.TextField(_("rules"), blank=True)
    deposit_ore = models.PositiveIntegerField(_("deposit (öre)"), default=0)
    price_per_hour_ore = models.PositiveIntegerField(_("price per hour (öre)"), default=0)
    price_per_day_ore = models.PositiveIntegerField(_("price per day (öre)"), default=0)
    price_per_km_ore = models.PositiveIntegerField(_("price per km (öre)"), default=0)
    approval_mode = models.CharField(
        _("approval"), max_length=10, choices=ApprovalMode.choices, default=ApprovalMode.AUTOMATIC
    )
    # Gated items (a chainsaw, the car): only people a coordinator has cleared may book.
    requires_clearance = models.BooleanField(_("needs clearance"), default=False)
    min_minutes = models.PositiveIntegerField(_("shortest booking (minutes)"), default=60)
    max_minutes = models.PositiveIntegerField(_("longest booking (minutes)"), default=7 * 24 * 60)
    buffer_minutes = models.PositiveIntegerField(_("time between bookings (minutes)"), default=0)
    active = models.BooleanField(_("listed"), default=True)
    out_of_service = models.BooleanField(_("out of service"), default=False)
    # Cars only.
    seats = models.PositiveSmallIntegerField(_("seats"), null=True, blank=True)
    fuel = models.CharField(_("fuel"), max_length=10, choices=Fuel.choices, blank=True)
    odometer_km = models.PositiveIntegerField(_("odometer (km)"), null=True, blank=True)
    key_location = models.CharField(_("where the key is"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("shared resource")
        verbose_name_plural = _("shared resources")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ResourceKind.values), name="resource_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(approval_mode__in=ApprovalMode.values),
                name="resource_approval_known",
            ),
            models.CheckConstraint(
                condition=Q(min_minutes__gte=15)
                & Q(min_minutes__lte=F("max_minutes"))
                & Q(max_minutes__lte=90 * 24 * 60),
                name="resource_lengths_sane",
            ),
            models.CheckConstraint(
                condition=Q(buffer_minutes__lte=7 * 24 * 60), name="resource_buffer_sane"
            ),
            # Only cars are paid per km, and only cars carry car fields.
            models.CheckConstraint(
                condition=Q(kind=ResourceKind.CAR)
                | (
                    Q(price_per_km_ore=0)
                    & Q(seats__isnull=True)
                    & Q(fuel="")
                    & Q(odometer_km__isnull=True)
                ),
                name="resource_car_fields_only_on_cars",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ResourceKind.CAR)
                | (Q(seats__gte=1) & Q(seats__lte=9) & Q(odometer_km__isnull=False) & ~Q(fuel="")),
                name="resource_car_has_car_fields",
            ),
            models.CheckConstraint(
                condition=Q(category=Lower("category")), name="resource_category_lower"
            ),
        ]
        indexes = [
            models.Index(fields=["association", "kind"], name="resource_association_kind"),
        ]

    def __str__(self) -> str:
        return self.title


def _photo_path(photo: "ResourcePhoto", filename: str) -> str:
    return f"sharing/resources/{photo.resource_id}/{secrets.token_hex(8)}.jpg"


class ResourcePhoto(models.Model):
    """A photo, resized to at most SHARING_PHOTO_MAX_PX and stored as JPEG through the
    default storage (the file system, or S3 when configured)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=_photo_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.image.name


class Clearance(models.Model):
    """A coordinator cleared this person for a gated resource (driving licence checked,
    introduction to the chainsaw done)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="clearances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sharing_clearances"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "user"], name="clearance_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} cleared for {self.resource}"


class BookingStatus(models.TextChoices):
    REQUESTED = "requested", _("waiting for approval")
    CONFIRMED = "confirmed", _("confirmed")
    DECLINED = "declined", _("declined")
    CANCELLED = "cancelled", _("cancelled")
    CHECKED_OUT = "checked_out", _("checked out")
    RETURNED = "returned", _("returned")
    OVERDUE = "overdue", _("not returned in time")


# A booking in one of these holds its period (and the buffer after it).
HOLDING = [
    BookingStatus.REQUESTED,
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_OUT,
    BookingStatus.OVERDUE,
]
UPCOMING = [BookingStatus.REQUESTED, BookingStatus.CONFIRMED]
OUT = [BookingStatus.CHECKED_OUT, BookingStatus.OVERDUE]


class OdometerFlag(models.TextChoices):
    NONE = "", _("consistent")
    GAP = "gap", _("kilometres driven outside any booking")
    OVERLAP = "overlap", _("reading below the previous one")


class Booking(models.Model):
    """A person's booking of a resource for [starts_at, ends_at). It holds the resource
    until `blocked_until` (= ends_at + the resource's buffer when booked)."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    booker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sharing_bookings"
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    blocked_until = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=BookingStatus.choices, default=BookingStatus.REQUESTED
    )
    note = models.CharField(_("note to the owner"), max_length=500, blank=True)
    estimated_cost_ore = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # Check-out and check-in.
    checked_out_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    odometer_out = models.PositiveIntegerField(null=True, blank=True)
    odometer_in = models.PositiveIntegerField(null=True, blank=True)
    odometer_flag = models.CharField(
        max_length=10, choices=OdometerFlag.choices, blank=True, default=OdometerFlag.NONE
    )
    condition_out = models.TextField(blank=True)
    condition_in = models.TextField(blank=True)
    km_driven = models.PositiveIntegerField(null=True, blank=True)
    cost_ore = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")) & Q(ends_at__lte=F("blocked_until")),
                name="booking_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=BookingStatus.values), name="booking_status_known"
            ),
            models.CheckConstraint(
                condition=Q(odometer_in__isnull=True)
                | Q(odometer_out__isnull=True)
                | Q(odometer_in__gte=F("odometer_out")),
                name="booking_odometer_forward",
            ),
            models.CheckConstraint(
                condition=~Q(status=BookingStatus.RETURNED) | Q(returned_at__isnull=False),
                name="booking_returned_has_time",
            ),
            # No two holding bookings of one resource overlap, buffer included.
            # Half-open ranges: back-to-back bookings (buffer 0) do not overlap.
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[
                    ("resource", RangeOperators.EQUAL),
                    (BlockedRange("starts_at", "blocked_until"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=HOLDING),
                violation_error_code="booking_overlap",
            ),
        ]
        indexes = [
            models.Index(fields=["booker", "status"], name="booking_booker_status"),
            models.Index(fields=["status", "ends_at"], name="booking_status_end"),
        ]

    def __str__(self) -> str:
        return f"booking {self.pk} of {self.resource_id} ({self.status})"


class PhotoStage(models.TextChoices):
    CHECK_OUT = "out", _("at check-out")
    CHECK_IN = "in", _("at check-in")
    PROBLEM = "problem", _("with a problem report")


def _booking_photo_path(photo: "ConditionPhoto", filename: str) -> str:
    return f"sharing/condition/{photo.resource_id}/{secrets.token_hex(8)}.jpg"


class ConditionPhoto(models.Model):
    """A photo of the state a resource was in: at check-out, check-in or with a report."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(
        Booking, on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    report = models.ForeignKey(
        "ProblemReport", on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    stage = models.CharField(max_length=10, choices=PhotoStage.choices)
    image = models.ImageField(upload_to=_booking_photo_path)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.image.name


class ProblemKind(models.TextChoices):
    NOTE = "note", _("note (still usable)")
    BREAKDOWN = "breakdown", _("breakdown (out of service)")


class ProblemReport(models.Model):
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="problems")
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="problems"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=ProblemKind.choices)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ProblemKind.values), name="problem_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.resource_id}"


class WaitlistEntry(models.Model):
    """Someone wants the resource in a period that is taken; told when it frees up."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sharing_waits"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="waitlist_period_ordered"
            ),
            models.UniqueConstraint(
                fields=["resource", "user", "starts_at", "ends_at"],
                condition=Q(notified_at__isnull=True),
                name="waitlist_once_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} waits for {self.resource_id}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    """A secret address a phone calendar subscribes to: a person's bookings, or the
    busy times of one resource. Rotating the token makes the old address stop working."""

    token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sharing_feed",
    )
    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="feed"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(resource__isnull=True))
                | (Q(user__isnull=True) & Q(resource__isnull=False)),
                name="feed_for_person_or_resource",
            ),
        ]

    def __str__(self) -> str:
        return f"feed {self.pk}"

"""Carpooling: trips drivers publish, their departures, seat bookings, ride alerts,
ratings and reports.

A `Trip` is what the driver publishes once: the route, the seats, the price, and for a
commute an RFC 5545 RRULE. A `TripOccurrence` is one departure of it: what passengers
search for and book. A one-off trip has one occurrence; a recurring one gets its
occurrences materialised `CARPOOL_HORIZON_DAYS` ahead (`trips_materialise`).

The occurrence carries a copy of its trip's route and its own time span
(departure → arrival). Each published occurrence is cut into `RouteLeg`s (pieces of at
most LEG_M of its route, each with the time the car is on it), and one n-dimensional GiST
index over the legs' boxes in lon, lat and time answers "the car is near here at about this time"
(dispatch/carpool_matching.py). The database writes the legs itself (a trigger on
carpool_tripoccurrence, migration 0002), so no code path can leave them stale.
"""

import datetime as dt

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField
from django.contrib.postgres.indexes import GistIndex
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.community.models import Association, Village

MAX_SEATS = 8
# How far a driver may move one departure, either way (services.occurrence_move): plans
# shift by a quarter of an hour or an afternoon; beyond this it is another trip, which
# passengers should choose anew.
DEPARTURE_MOVE_MAX = dt.timedelta(hours=12)
# The longest piece of route one leg row covers (metres); the trigger's SQL function
# `carpool_route_legs` uses the same number (migration 0002).
LEG_M = 8000
# The legs' time axis: units of LEG_BOX_HOURS since LEG_BOX_EPOCH (2020-01-01 UTC), small
# numbers because the index keeps boxes in single precision (carpool_leg_box, 0002).
LEG_BOX_HOURS = 10
LEG_BOX_EPOCH = 1_577_836_800


class Luggage(models.TextChoices):
    NONE = "none", _("no luggage")
    SMALL = "small", _("small bag")
    LARGE = "large", _("suitcase")


class Trip(models.Model):
    """A trip a driver offers, once or on a schedule."""

    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="carpool_trips"
    )
    # The driver's association: its coordinators receive reports about the trip.
    association = models.ForeignKey(
        Association, on_delete=models.PROTECT, related_name="carpool_trips"
    )
    origin = models.PointField(_("from"), geography=True, srid=4326, spatial_index=False)
    origin_address = models.CharField(_("from (address)"), max_length=300)
    origin_village = models.ForeignKey(
        Village, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    destination = models.PointField(_("to"), geography=True, srid=4326, spatial_index=False)
    destination_address = models.CharField(_("to (address)"), max_length=300)
    destination_village = models.ForeignKey(
        Village, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.MultiPointField(
        _("via"), geography=True, srid=4326, null=True, blank=True, spatial_index=False
    )
    route = models.LineStringField(geography=True, srid=4326, spatial_index=False)
    distance_m = models.PositiveIntegerField()
    duration_s = models.PositiveIntegerField()
    # The first departure; for a recurring trip, the RRULE's DTSTART (local wall-clock
    # time is what repeats: 07:10 stays 07:10 across the change to summer time).
    first_departure = models.DateTimeField(_("departure"))
    rrule = models.CharField(_("repeats (RRULE)"), max_length=300, blank=True)
    seats = models.PositiveSmallIntegerField(_("seats offered"))
    price_ore = models.PositiveIntegerField(_("price per passenger (öre)"))
    # The most a passenger may be asked to pay: the driver's cost share at publication.
    max_price_ore = models.PositiveIntegerField()
    instant_booking = models.BooleanField(_("instant booking"), default=False)
    pets_allowed = models.BooleanField(_("pets allowed"), default=False)
    luggage = models.CharField(max_length=10, choices=Luggage.choices, default=Luggage.SMALL)
    smoking_allowed = models.BooleanField(_("smoking allowed"), default=False)
    note = models.CharField(_("note to passengers"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # How far ahead occurrences exist (recurring trips): the beat task extends it.
    materialised_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("carpool trip")
        verbose_name_plural = _("carpool trips")
        constraints = [
            models.CheckConstraint(
                condition=Q(seats__gte=1) & Q(seats__lte=MAX_SEATS), name="trip_seats_sane"
            ),
            models.CheckConstraint(
                condition=Q(price_ore__lte=F("max_price_ore")), name="trip_price_at_most_cost"
            ),
            models.CheckConstraint(condition=Q(distance_m__gt=0), name="trip_distance_positive"),
        ]
        indexes = [models.Index(fields=["driver", "-first_departure"], name="trip_driver")]

    def __str__(self) -> str:
        return f"trip {self.pk}: {self.origin_address} → {self.destination_address}"


class OccurrenceStatus(models.TextChoices):
    PUBLISHED = "published", _("published")
    FULL = "full", _("full")
    CANCELLED = "cancelled", _("cancelled")
    DEPARTED = "departed", _("departed")
    COMPLETED = "completed", _("completed")


BOOKABLE = [OccurrenceStatus.PUBLISHED]
OPEN_OCCURRENCE = [OccurrenceStatus.PUBLISHED, OccurrenceStatus.FULL]
TAKEN_PLACE = [OccurrenceStatus.DEPARTED, OccurrenceStatus.COMPLETED]


class TripOccurrence(models.Model):
    """One departure of a trip: searched, booked, cancelled on its own."""

    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="occurrences")
    departure_at = models.DateTimeField()
    # When the trip's schedule put this departure, once the driver has moved it (null
    # while it leaves as scheduled): materialising again must not bring back the moved
    # departure at its old time (`occurrence_slot_once`).
    scheduled_at = models.DateTimeField(null=True, blank=True)
    # [departure, arrival): the index narrows by time with it.
    span = DateTimeRangeField()
    route = models.LineStringField(
        geography=True, srid=4326, spatial_index=False
    )  # the trip's, copied
    seats_total = models.PositiveSmallIntegerField()
    seats_taken = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=OccurrenceStatus.choices, default=OccurrenceStatus.PUBLISHED
    )
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("departure")
        verbose_name_plural = _("departures")
        constraints = [
            # No overbooking, whatever the code above does.
            models.CheckConstraint(
                condition=Q(seats_taken__lte=F("seats_total")), name="occurrence_no_overbooking"
            ),
            models.CheckConstraint(
                condition=Q(seats_total__gte=1) & Q(seats_total__lte=MAX_SEATS),
                name="occurrence_seats_sane",
            ),
            # "full" means every seat is taken, "published" that one is free.
            models.CheckConstraint(
                condition=~Q(status=OccurrenceStatus.FULL) | Q(seats_taken=F("seats_total")),
                name="occurrence_full_when_no_seat",
            ),
            models.CheckConstraint(
                condition=~Q(status=OccurrenceStatus.PUBLISHED)
                | Q(seats_taken__lt=F("seats_total")),
                name="occurrence_published_has_seat",
            ),
            models.CheckConstraint(
                condition=Q(span__startswith=F("departure_at")), name="occurrence_span_starts"
            ),
            # Materialising twice creates nothing new.
            models.UniqueConstraint(fields=["trip", "departure_at"], name="occurrence_once"),
            # Nor does materialising after a departure was moved: its schedule's time is
            # taken (bulk_create's ON CONFLICT DO NOTHING skips it).
            models.UniqueConstraint(
                F("trip"), Coalesce("scheduled_at", "departure_at"), name="occurrence_slot_once"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "departure_at"], name="occurrence_status_time"),
        ]

    def __str__(self) -> str:
        return f"trip {self.trip_id} at {self.departure_at:%Y-%m-%d %H:%M}"

    @property
    def seats_free(self) -> int:
        return self.seats_total - self.seats_taken


class RouteLeg(models.Model):
    """A piece of a published departure's route (at most LEG_M long) and when the car is
    on it: what the corridor search looks up instead of whole routes.

    Written only by the database: the trigger `carpool_occurrence_legs` on
    carpool_tripoccurrence inserts an occurrence's legs when it becomes published (created,
    a seat freed on a full one) and deletes them when it stops being published (full,
    cancelled, departed) or is deleted; a changed route or span rewrites them.

    `span` is widened on both sides so that it surely contains the moment the search
    computes for any point on the piece: the search measures positions along the route
    with longitudes scaled for the passenger's latitude, the legs with those of the
    route's middle latitude (see carpool_route_legs in migration 0002).
    """

    occurrence = models.ForeignKey(TripOccurrence, on_delete=models.CASCADE, related_name="legs")
    piece = models.LineStringField(geography=True, srid=4326, spatial_index=False)
    span = DateTimeRangeField()
    # What the index holds: the piece's bounding box in lon, lat and time (z: LEG_BOX_HOURS
    # since LEG_BOX_EPOCH), from the SQL function carpool_leg_box.
    box = models.LineStringField(dim=3, srid=4326, spatial_index=False)

    class Meta:
        verbose_name = _("route leg")
        verbose_name_plural = _("route legs")
        indexes = [
            # n-dimensional: narrows by place and time together at every level.
            GistIndex(fields=["box"], name="routeleg_box", opclasses=["gist_geometry_ops_nd"])
        ]

    def __str__(self) -> str:
        return f"leg of departure {self.occurrence_id}"


class BookingState(models.TextChoices):
    REQUESTED = "requested", _("waiting for the driver")
    CONFIRMED = "confirmed", _("confirmed")
    DECLINED = "declined", _("declined")
    CANCELLED = "cancelled", _("cancelled")


ACTIVE_BOOKING = [BookingState.REQUESTED, BookingState.CONFIRMED]


class CancelledBy(models.TextChoices):
    PASSENGER = "passenger", _("passenger")
    DRIVER = "driver", _("driver")


class Booking(models.Model):
    """Seats on one departure, from a pickup to a drop-off along its route."""

    occurrence = models.ForeignKey(
        TripOccurrence, on_delete=models.PROTECT, related_name="bookings"
    )
    passenger = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="carpool_bookings"
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    seats = models.PositiveSmallIntegerField(default=1)
    pickup = models.PointField(geography=True, srid=4326, spatial_index=False)
    pickup_address = models.CharField(max_length=300)
    dropoff = models.PointField(geography=True, srid=4326, spatial_index=False)
    dropoff_address = models.CharField(max_length=300)
    # Where along the route (0 = origin, 1 = destination) and when the car passes.
    pickup_fraction = models.FloatField()
    dropoff_fraction = models.FloatField()
    pickup_at = models.DateTimeField()
    dropoff_at = models.DateTimeField()
    walk_m = models.PositiveIntegerField(default=0)
    detour_m = models.PositiveIntegerField(default=0)
    price_ore = models.PositiveIntegerField()  # for all the booked seats
    message = models.CharField(max_length=500, blank=True)
    state = models.CharField(
        max_length=10, choices=BookingState.choices, default=BookingState.REQUESTED
    )
    cancelled_by = models.CharField(max_length=10, choices=CancelledBy.choices, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("seat booking")
        verbose_name_plural = _("seat bookings")
        constraints = [
            models.CheckConstraint(
                condition=Q(seats__gte=1) & Q(seats__lte=MAX_SEATS), name="booking_seats_sane"
            ),
            models.CheckConstraint(
                condition=Q(pickup_fraction__gte=0)
                & Q(pickup_fraction__lt=F("dropoff_fraction"))
                & Q(dropoff_fraction__lte=1),
                name="booking_pickup_before_dropoff",
            ),
            models.CheckConstraint(
                condition=~Q(state=BookingState.CANCELLED) | ~Q(cancelled_by=""),
                name="booking_cancel_has_side",
            ),
            # One open booking per passenger and departure (more seats: book more seats).
            models.UniqueConstraint(
                fields=["occurrence", "passenger"],
                condition=Q(state__in=ACTIVE_BOOKING),
                name="booking_one_open_per_passenger",
            ),
        ]
        indexes = [
            models.Index(fields=["passenger", "-created_at"], name="booking_passenger"),
            models.Index(fields=["occurrence", "state"], name="booking_occurrence_state"),
        ]

    def __str__(self) -> str:
        return f"booking {self.pk} ({self.state})"

    @property
    def taken_place(self) -> bool:
        """A confirmed seat on a departure that has left: the two sides may rate each other."""
        return self.state == BookingState.CONFIRMED and self.occurrence.status in TAKEN_PLACE


class SavedSearch(models.Model):
    """A ride alert: tell me when a trip is published that I could ride along on."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="carpool_searches"
    )
    pickup = models.PointField(geography=True, srid=4326, spatial_index=False)
    pickup_address = models.CharField(max_length=300, blank=True)
    dropoff = models.PointField(geography=True, srid=4326, spatial_index=False)
    dropoff_address = models.CharField(max_length=300, blank=True)
    # Local wall-clock window for the pickup, on these weekdays (0 = Monday), until `until`.
    earliest = models.TimeField()
    latest = models.TimeField()
    weekdays = ArrayField(models.PositiveSmallIntegerField(), default=list)
    until = models.DateField(null=True, blank=True)
    seats = models.PositiveSmallIntegerField(default=1)
    max_walk_m = models.PositiveIntegerField(default=1000)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ride alert")
        verbose_name_plural = _("ride alerts")
        constraints = [
            models.CheckConstraint(
                condition=Q(earliest__lt=F("latest")), name="saved_search_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(weekdays__contained_by=list(range(7))) & ~Q(weekdays=[]),
                name="saved_search_weekdays_valid",
            ),
            models.CheckConstraint(
                condition=Q(seats__gte=1) & Q(seats__lte=MAX_SEATS),
                name="saved_search_seats_sane",
            ),
        ]
        indexes = [
            GistIndex(fields=["pickup"], name="saved_search_pickup", condition=Q(active=True)),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} of {self.owner_id}"


class SavedSearchAlert(models.Model):
    """A trip the owner of a saved search was told about: once per trip."""

    search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="alerts")
    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="+")
    occurrence = models.ForeignKey(TripOccurrence, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["search", "trip"], name="alert_once_per_trip"),
        ]

    def __str__(self) -> str:
        return f"alert {self.search_id} → trip {self.trip_id}"


class Rating(models.Model):
    """After the trip: one side rates the other, once per booking."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="ratings")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ratee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="carpool_ratings"
    )
    stars = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="rating_stars_1_to_5"
            ),
            models.CheckConstraint(condition=~Q(rater=F("ratee")), name="rating_not_self"),
            models.UniqueConstraint(fields=["booking", "rater"], name="rating_once_per_booking"),
        ]
        indexes = [models.Index(fields=["ratee"], name="rating_ratee")]

    def __str__(self) -> str:
        return f"{self.stars}★ for {self.ratee_id}"


class Report(models.Model):
    """Misconduct reported by one side of a booking; the association's coordinators see it."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    about = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    association = models.ForeignKey(
        Association, on_delete=models.CASCADE, related_name="carpool_reports"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["association", "-created_at"], name="report_association")]

    def __str__(self) -> str:
        return f"report {self.pk}"

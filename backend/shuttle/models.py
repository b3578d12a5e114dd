"""Shop runs (handlarskjuts): a recurring schedule, its dated occurrences, the residents
signed up for each, and the cars (volunteer drivers) that collect them.

Invariants kept by the database:

- an occurrence never has more seats taken than it has (`occurrence_seats_within_capacity`;
  seats are taken with a conditional UPDATE, see services.seats_take);
- a person is signed up once per occurrence (`signup_once_per_occurrence`), and has at
  most one standing sign-up per schedule (`standing_once_per_schedule`);
- one occurrence per schedule and rule date, so materialising twice creates nothing
  (`occurrence_once_per_rule_date`);
- a driver drives one car of an occurrence, and never two runs at overlapping times
  (`vehicle_once_per_driver`, `vehicle_driver_no_overlap`).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.community.models import Association, Village
from backend.rides.models import DriverProfile, Need


class RunSchedule(models.Model):
    """A recurring shop run of an association: "every Thursday, at the shop 10:00, back
    at 11:30". Dates follow an RFC 5545 RRULE from `starts_on`; times are local."""

    association = models.ForeignKey(
        Association, on_delete=models.CASCADE, related_name="run_schedules"
    )
    name = models.CharField(_("name"), max_length=100)
    rrule = models.CharField(_("repeats (RRULE)"), max_length=300)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"), null=True, blank=True)
    arrive_at = models.TimeField(_("at the shop"))
    leave_at = models.TimeField(_("leaves the shop"))
    destination = models.PointField(_("shop"), geography=True, srid=4326)
    destination_name = models.CharField(_("shop name"), max_length=200)
    villages = models.ManyToManyField(Village, related_name="run_schedules", blank=True)
    seats_per_vehicle = models.PositiveSmallIntegerField(_("seats per car"), default=4)
    max_vehicles = models.PositiveSmallIntegerField(_("cars at most"), default=2)
    # Sign-ups close `deadline_days` days before the run at `deadline_time` (local).
    deadline_days = models.PositiveSmallIntegerField(_("days before"), default=1)
    deadline_time = models.TimeField(_("sign-up closes at"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("shop run")
        verbose_name_plural = _("shop runs")
        constraints = [
            models.CheckConstraint(
                condition=Q(arrive_at__lt=F("leave_at")), name="schedule_arrive_before_leave"
            ),
            models.CheckConstraint(
                condition=Q(seats_per_vehicle__gte=1) & Q(seats_per_vehicle__lte=8),
                name="schedule_seats_sane",
            ),
            models.CheckConstraint(
                condition=Q(max_vehicles__gte=1) & Q(max_vehicles__lte=4),
                name="schedule_vehicles_sane",
            ),
            models.CheckConstraint(
                condition=Q(deadline_days__lte=14), name="schedule_deadline_sane"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="schedule_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OccurrenceState(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    CANCELLED = "cancelled", _("cancelled")
    DONE = "done", _("done")


class RunOccurrence(models.Model):
    """One dated run. `rule_date` is the date the schedule produced; a moved run keeps it
    (so it is not produced again) and gets new times."""

    schedule = models.ForeignKey(RunSchedule, on_delete=models.CASCADE, related_name="occurrences")
    association = models.ForeignKey(
        Association, on_delete=models.CASCADE, related_name="run_occurrences"
    )
    rule_date = models.DateField()
    arrive_at = models.DateTimeField(_("at the shop"))
    leave_at = models.DateTimeField(_("leaves the shop"))
    signup_deadline = models.DateTimeField(_("sign-up closes"))
    capacity = models.PositiveSmallIntegerField(_("seats"))
    seats_taken = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(
        max_length=10, choices=OccurrenceState.choices, default=OccurrenceState.SCHEDULED
    )
    state_reason = models.CharField(max_length=300, blank=True)
    moved_at = models.DateTimeField(null=True, blank=True)
    # The pickup order: set by dispatch.shop_runs.occurrence_plan; stale after a change.
    plan_stale = models.BooleanField(default=True)
    # Every change that makes the plan stale also counts up `plan_version`; a plan is saved
    # only if the version it was computed from is still current. The lease keeps a second
    # planner off the run while one solves; it expires, so a planner that died is replaced.
    plan_version = models.PositiveBigIntegerField(default=0)
    plan_lease_token = models.UUIDField(null=True, blank=True)
    plan_lease_until = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    plan_km = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    plan_problem = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["arrive_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "rule_date"], name="occurrence_once_per_rule_date"
            ),
            models.CheckConstraint(
                condition=Q(seats_taken__lte=F("capacity")),
                name="occurrence_seats_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(arrive_at__lt=F("leave_at")), name="occurrence_arrive_before_leave"
            ),
        ]
        indexes = [
            models.Index(fields=["association", "arrive_at"], name="occurrence_assoc_time"),
            models.Index(
                fields=["plan_stale"], condition=Q(plan_stale=True), name="occurrence_plan_stale"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {timezone.localtime(self.arrive_at):%Y-%m-%d %H:%M}"

    @property
    def seats_left(self) -> int:
        return self.capacity - self.seats_taken


class StandingSignup(models.Model):
    """ "Every week until further notice": carried to each new occurrence of the schedule."""

    schedule = models.ForeignKey(
        RunSchedule, on_delete=models.CASCADE, related_name="standing_signups"
    )
    passenger = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="standing_signups"
    )
    signed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    pickup = models.PointField(geography=True, srid=4326)
    pickup_address = models.CharField(max_length=300)
    needs = ArrayField(models.CharField(max_length=20, choices=Need.choices), default=list)
    note = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "passenger"],
                condition=Q(active=True),
                name="standing_once_per_schedule",
            ),
            models.CheckConstraint(
                condition=Q(needs__contained_by=list(Need.values)), name="standing_needs_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.passenger} every {self.schedule}"


class SignupState(models.TextChoices):
    CONFIRMED = "confirmed", _("has a seat")
    WAITLISTED = "waitlisted", _("on the waitlist")
    OFFERED = "offered", _("offered a seat")
    CANCELLED = "cancelled", _("cancelled")


# States that hold a seat of the occurrence (counted in seats_taken).
HOLDS_SEAT = [SignupState.CONFIRMED, SignupState.OFFERED]
ACTIVE_SIGNUP = [SignupState.CONFIRMED, SignupState.WAITLISTED, SignupState.OFFERED]


class Outcome(models.TextChoices):
    PICKED_UP = "picked_up", _("picked up")
    NOT_HOME = "not_home", _("not home")


class RunVehicle(models.Model):
    """A car of an occurrence and its driver (who took the offer or was assigned)."""

    occurrence = models.ForeignKey(RunOccurrence, on_delete=models.CASCADE, related_name="vehicles")
    driver = models.ForeignKey(DriverProfile, on_delete=models.PROTECT, related_name="run_vehicles")
    seats = models.PositiveSmallIntegerField()
    # When the driver is busy with the run: from leaving home until back from the shop.
    busy = DateTimeRangeField()
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    plan_km = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "driver"], name="vehicle_once_per_driver"
            ),
            models.CheckConstraint(
                condition=Q(seats__gte=1) & Q(seats__lte=8), name="vehicle_seats_sane"
            ),
            ExclusionConstraint(
                name="vehicle_driver_no_overlap",
                expressions=[("driver", RangeOperators.EQUAL), ("busy", RangeOperators.OVERLAPS)],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.driver} on {self.occurrence}"


class RunSignup(models.Model):
    occurrence = models.ForeignKey(RunOccurrence, on_delete=models.CASCADE, related_name="signups")
    passenger = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="run_signups"
    )
    signed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    standing = models.ForeignKey(
        StandingSignup, on_delete=models.SET_NULL, null=True, blank=True, related_name="signups"
    )
    pickup = models.PointField(_("pickup"), geography=True, srid=4326)
    pickup_address = models.CharField(_("pickup address"), max_length=300)
    needs = ArrayField(models.CharField(max_length=20, choices=Need.choices), default=list)
    note = models.CharField(_("note to the driver"), max_length=500, blank=True)
    # Set when the exact pickup is forgotten (backend/privacy): the statistics' passenger
    # km of a sign-up are measured from the pickup, which is then only a coarse point.
    pickup_to_shop_m = models.FloatField(null=True, blank=True, editable=False)
    seats = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=10, choices=SignupState.choices)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The plan: which car, in what order, at about what time.
    vehicle = models.ForeignKey(
        RunVehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="signups"
    )
    car_number = models.PositiveSmallIntegerField(null=True, blank=True)
    stop_order = models.PositiveSmallIntegerField(null=True, blank=True)
    estimated_pickup = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "passenger"],
                condition=~Q(state=SignupState.CANCELLED),
                name="signup_once_per_occurrence",
            ),
            models.CheckConstraint(
                condition=Q(seats__gte=1) & Q(seats__lte=2), name="signup_seats_sane"
            ),
            models.CheckConstraint(
                condition=Q(needs__contained_by=list(Need.values)), name="signup_needs_known"
            ),
            models.CheckConstraint(
                condition=~Q(state=SignupState.OFFERED) | Q(offer_expires_at__isnull=False),
                name="signup_offer_has_expiry",
            ),
        ]
        indexes = [
            models.Index(fields=["occurrence", "state"], name="signup_occurrence_state"),
            models.Index(fields=["passenger", "state"], name="signup_passenger_state"),
        ]

    def __str__(self) -> str:
        return f"{self.passenger} on {self.occurrence_id} ({self.state})"


class RunOfferState(models.TextChoices):
    PENDING = "pending", _("waiting for an answer")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    WITHDRAWN = "withdrawn", _("withdrawn")


class RunOffer(models.Model):
    """The occurrence offered to a driver available at that time (like a ride offer)."""

    occurrence = models.ForeignKey(RunOccurrence, on_delete=models.CASCADE, related_name="offers")
    driver = models.ForeignKey(DriverProfile, on_delete=models.CASCADE, related_name="run_offers")
    state = models.CharField(
        max_length=10, choices=RunOfferState.choices, default=RunOfferState.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["occurrence", "driver"], name="run_offer_once"),
        ]
        indexes = [models.Index(fields=["driver", "state"], name="run_offer_driver_state")]

    def __str__(self) -> str:
        return f"run offer {self.pk} to {self.driver_id}"

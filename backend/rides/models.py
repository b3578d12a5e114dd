from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Case, F, Func, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.community.models import Association, Membership, Village

# The most a driver can claim for any ride, approved or not: more is a typo.
DRIVEN_ABSOLUTE_MAX_M = 1_000_000


class Need(models.TextChoices):
    WHEELCHAIR = "wheelchair", _("wheelchair")
    WALKER = "walker", _("walker")
    BAGS = "bags", _("help with bags")
    COMPANION = "companion", _("companion")
    GUIDE_DOG = "guide_dog", _("guide dog")


class DriverProfile(models.Model):
    """A volunteer driver of one association: where they drive from, how far, in what."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="driver_profile"
    )
    # A copy of membership.association, so the candidate query can walk one GiST index
    # on (association, home_base). Kept equal by the database: a foreign key on
    # (membership_id, association_id) to the membership's (id, association_id), ON UPDATE
    # CASCADE (migration 0003), so a membership moved to another association takes its
    # driver profile (and its availability windows) along. Filled in by save().
    association = models.ForeignKey(
        Association,
        on_delete=models.CASCADE,
        related_name="driver_profiles",
        editable=False,
    )
    home_base = models.PointField(_("home base"), geography=True, srid=4326)
    service_radius_m = models.PositiveIntegerField(_("service radius (m)"), default=20_000)
    seats = models.PositiveSmallIntegerField(_("passenger seats"), default=3)
    wheelchair_accessible = models.BooleanField(_("takes a wheelchair"), default=False)
    walker_space = models.BooleanField(_("room for a walker"), default=True)
    child_seat = models.BooleanField(_("child seat"), default=False)
    takes_guide_dog = models.BooleanField(_("takes a guide dog"), default=True)
    vehicle_description = models.CharField(_("car"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    on_duty = models.BooleanField(_("on duty"), default=False)
    position = models.PointField(geography=True, srid=4326, null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("driver")
        verbose_name_plural = _("drivers")
        constraints = [
            models.CheckConstraint(
                condition=Q(service_radius_m__gte=500) & Q(service_radius_m__lte=100_000),
                name="driver_radius_sane",
            ),
            models.CheckConstraint(
                condition=Q(seats__gte=1) & Q(seats__lte=8), name="driver_seats_sane"
            ),
            # The target of the windows' (driver_id, association_id) foreign key.
            models.UniqueConstraint(fields=["id", "association"], name="driver_association_key"),
        ]
        indexes = [
            models.Index(fields=["active"], name="driver_active"),
            # btree_gist: association_id by equality, home_base for the KNN order.
            GistIndex(fields=["association", "home_base"], name="driver_association_home"),
        ]

    def __str__(self) -> str:
        return str(self.membership.user)

    def save(self, *args, **kwargs) -> None:
        if self.association_id is None and self.membership_id is not None:
            self.association_id = self.membership.association_id
        super().save(*args, **kwargs)


class TimeOfDayRange(Func):
    """[start, end) of two times of day, as a tsrange on one fixed date: PostgreSQL has no
    range type of times, and date + time is immutable, so it can serve a constraint."""

    template = "tsrange(DATE '2000-01-03' + %(expressions)s, '[)')"
    arg_joiner = ", DATE '2000-01-03' + "
    output_field = DateTimeRangeField()


class AvailabilitySlot(models.Model):
    """Every week, on `weekday` (0 = Monday), from `start` to `end` local time."""

    driver = models.ForeignKey(DriverProfile, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"))
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="slot_weekday_valid"),
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="slot_start_before_end"
            ),
            # Times of one day never overlap (08-12 and 12-16 only touch): the service
            # explains overlaps to the driver; this holds whatever writes the rows.
            ExclusionConstraint(
                name="slot_no_overlap",
                expressions=[
                    ("driver", RangeOperators.EQUAL),
                    ("weekday", RangeOperators.EQUAL),
                    (TimeOfDayRange(F("start"), F("end")), RangeOperators.OVERLAPS),
                ],
            ),
        ]
        indexes = [models.Index(fields=["driver", "weekday"], name="slot_driver_day")]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start:%H:%M}-{self.end:%H:%M}"


class ExceptionKind(models.TextChoices):
    AWAY = "away", _("away")
    EXTRA = "extra", _("extra time")


class AvailabilityException(models.Model):
    """A dated change to the week: away (all day, or a time range) or extra time."""

    driver = models.ForeignKey(DriverProfile, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField(_("date"))
    kind = models.CharField(max_length=10, choices=ExceptionKind.choices)
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(start__isnull=True) & Q(end__isnull=True) & Q(kind="away"))
                | (Q(start__isnull=False) & Q(end__isnull=False) & Q(start__lt=models.F("end"))),
                name="exception_times_valid",
            )
        ]
        indexes = [models.Index(fields=["driver", "date"], name="exception_driver_date")]

    def __str__(self) -> str:
        return f"{self.kind} {self.date}"


class AvailabilityWindow(models.Model):
    """A concrete time in which a driver is available: one weekly slot or extra period
    on one local date, with the driver's away time cut out (so one slot may give two
    windows). Derived data, built by backend.rides.availability for the dates of
    `AvailabilityHorizon`, so the candidate query finds who is free at a time in one
    GiST index on (association, during, home_base) instead of testing each driver.

    `association` and `home_base` are copies from the driver profile: the association is
    kept equal by a foreign key on (driver_id, association_id) ON UPDATE CASCADE
    (migration 0003); the home base by rebuilding the driver's windows when it changes.
    """

    # No single-column indexes: the GiST index and window_driver_day serve every lookup,
    # and each index more slows the nightly build.
    driver = models.ForeignKey(
        DriverProfile, on_delete=models.CASCADE, related_name="windows", db_index=False
    )
    association = models.ForeignKey(
        Association, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    home_base = models.PointField(geography=True, srid=4326, spatial_index=False)
    day = models.DateField()  # the local date of the slot or exception it comes from
    during = DateTimeRangeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(during__isempty=False), name="window_not_empty"),
        ]
        indexes = [
            GistIndex(
                fields=["association", "during", "home_base"], name="window_association_during"
            ),
            models.Index(fields=["driver", "day"], name="window_driver_day"),
            models.Index(fields=["day"], name="window_day"),
        ]

    def __str__(self) -> str:
        return f"driver {self.driver_id}: {self.during}"


class AvailabilityHorizon(models.Model):
    """The local dates [first, until) for which every driver's AvailabilityWindows are
    built. One row (id 1); both empty until the first build. The candidate query uses
    the windows only for rides whose pickup dates lie inside."""

    first = models.DateField(null=True)
    until = models.DateField(null=True)
    built_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="horizon_single_row"),
            models.CheckConstraint(
                condition=(Q(first__isnull=True) & Q(until__isnull=True))
                | Q(first__lte=models.F("until")),
                name="horizon_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"windows {self.first} - {self.until}"


class RiderApproval(models.Model):
    """The association has approved this member to request volunteer rides."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="rider_approval"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approved_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(_("eligibility notes"), blank=True)

    def __str__(self) -> str:
        return str(self.membership)


class TimeKind(models.TextChoices):
    ASAP = "asap", _("as soon as possible")
    PICKUP_AT = "pickup_at", _("pick me up at")
    ARRIVE_BY = "arrive_by", _("arrive by")


class RideState(models.TextChoices):
    REQUESTED = "requested", _("requested")
    OFFERING = "offering", _("looking for a driver")
    UNASSIGNED = "unassigned", _("no driver found yet")
    ACCEPTED = "accepted", _("driver found")
    EN_ROUTE = "en_route", _("driver on the way")
    PICKED_UP = "picked_up", _("on board")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")
    NO_SHOW = "no_show", _("no-show")
    UNFULFILLED = "unfulfilled", _("not carried out")


# States in which a driver holds the ride: their calendar is taken for its time.
DRIVER_HOLDS = [RideState.ACCEPTED, RideState.EN_ROUTE, RideState.PICKED_UP]
# Held rides a coordinator may take back from their driver (to give to another, or back to
# dispatch): not once the passenger is aboard.
RELEASABLE = [RideState.ACCEPTED, RideState.EN_ROUTE]
OPEN_STATES = [RideState.REQUESTED, RideState.OFFERING, RideState.UNASSIGNED]
CLOSED_STATES = [
    RideState.COMPLETED,
    RideState.CANCELLED,
    RideState.NO_SHOW,
    RideState.UNFULFILLED,
]


def ride_urgency() -> Case:
    """How urgently a coordinator must look at a ride: 0 no driver was found, 1 still
    looking, 2 anything else. The association's ride list orders by it, and an index on
    the same expression lets PostgreSQL read a page of that order instead of sorting
    all the association's rides (the two must stay the same expression to match)."""
    return Case(
        When(state=RideState.UNASSIGNED, then=Value(0)),
        When(state__in=OPEN_STATES, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


class RideRequest(models.Model):
    rider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rides"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rides_requested"
    )
    association = models.ForeignKey(Association, on_delete=models.PROTECT, related_name="rides")
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, related_name="rides", null=True, blank=True
    )
    pickup = models.PointField(_("pickup"), geography=True, srid=4326)
    pickup_address = models.CharField(_("pickup address"), max_length=300)
    destination = models.PointField(_("destination"), geography=True, srid=4326)
    destination_address = models.CharField(_("destination address"), max_length=300)
    time_kind = models.CharField(max_length=10, choices=TimeKind.choices)
    # The pickup may happen at any time in [earliest_pickup, latest_pickup]; the two are
    # equal for a fixed time. For "arrive by" they are derived from the arrival time.
    earliest_pickup = models.DateTimeField()
    latest_pickup = models.DateTimeField()
    arrive_by = models.DateTimeField(null=True, blank=True)
    passengers = models.PositiveSmallIntegerField(default=1)
    needs = ArrayField(models.CharField(max_length=20, choices=Need.choices), default=list)
    note = models.CharField(_("note to the driver"), max_length=500, blank=True)
    return_of = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="return_ride"
    )
    distance_m = models.PositiveIntegerField()
    duration_s = models.PositiveIntegerField()
    state = models.CharField(max_length=12, choices=RideState.choices, default=RideState.REQUESTED)
    driver = models.ForeignKey(
        DriverProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="rides"
    )
    # When the driver is busy with it: set on acceptance from the agreed pickup time.
    planned_pickup = models.DateTimeField(null=True, blank=True)
    busy = DateTimeRangeField(null=True, blank=True)
    wave = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    driven_m = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("ride request")
        verbose_name_plural = _("ride requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(earliest_pickup__lte=models.F("latest_pickup")),
                name="ride_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(passengers__gte=1) & Q(passengers__lte=8), name="ride_passengers_sane"
            ),
            models.CheckConstraint(
                condition=Q(needs__contained_by=list(Need.values)), name="ride_needs_known"
            ),
            # One driver per ride, and a held ride always has one.
            models.CheckConstraint(
                condition=~Q(state__in=[*DRIVER_HOLDS, RideState.COMPLETED])
                | (Q(driver__isnull=False) & Q(busy__isnull=False)),
                name="ride_held_has_driver",
            ),
            # A driver cannot hold two rides whose times overlap.
            ExclusionConstraint(
                name="ride_driver_no_overlap",
                expressions=[("driver", RangeOperators.EQUAL), ("busy", RangeOperators.OVERLAPS)],
                condition=Q(state__in=DRIVER_HOLDS),
            ),
        ]
        indexes = [
            models.Index(fields=["association", "state"], name="ride_association_state"),
            models.Index(fields=["driver", "state"], name="ride_driver_state"),
            models.Index(fields=["rider", "-earliest_pickup"], name="ride_rider"),
            models.Index(
                F("association"),
                ride_urgency(),
                F("earliest_pickup"),
                F("id"),
                name="ride_association_urgency",
            ),
        ]

    def __str__(self) -> str:
        return f"ride {self.pk} ({self.state})"


class RideEvent(models.Model):
    """Every change of a ride's state: who, when, why."""

    ride = models.ForeignKey(RideRequest, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.ride_id}: {self.from_state} → {self.to_state}"


class OfferState(models.TextChoices):
    PENDING = "pending", _("waiting for an answer")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    WITHDRAWN = "withdrawn", _("withdrawn")
    EXPIRED = "expired", _("expired")


class Offer(models.Model):
    """A ride offered to one driver. The first to accept gets the ride."""

    ride = models.ForeignKey(RideRequest, on_delete=models.CASCADE, related_name="offers")
    driver = models.ForeignKey(DriverProfile, on_delete=models.CASCADE, related_name="offers")
    wave = models.PositiveSmallIntegerField()
    rank = models.PositiveSmallIntegerField()
    distance_m = models.PositiveIntegerField()
    # The earliest pickup in the ride's window this driver can make.
    pickup_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=OfferState.choices, default=OfferState.PENDING)
    manual = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ride", "driver"], name="offer_once_per_driver"),
        ]
        indexes = [models.Index(fields=["driver", "state"], name="offer_driver_state")]

    def __str__(self) -> str:
        return f"offer {self.pk}: ride {self.ride_id} to driver {self.driver_id}"


# --- The nightly batch: a day's plan for the coordinator to review ---------------------------


class PlanState(models.TextChoices):
    PROPOSED = "proposed", _("proposed")
    APPROVED = "approved", _("approved")
    DISCARDED = "discarded", _("discarded")


class AssignmentPlan(models.Model):
    """A proposed driver for each of a day's rides that had none (dispatch.batch). The
    offers go out when a coordinator approves it."""

    association = models.ForeignKey(Association, on_delete=models.CASCADE, related_name="plans")
    day = models.DateField()  # local date
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=PlanState.choices, default=PlanState.PROPOSED)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    total_km = models.DecimalField(max_digits=8, decimal_places=1)  # all empty driving

    class Meta:
        constraints = [
            # A new run for the day replaces the plan still waiting for review.
            models.UniqueConstraint(
                fields=["association", "day"],
                condition=Q(state=PlanState.PROPOSED),
                name="plan_one_proposed_per_day",
            ),
            models.CheckConstraint(
                condition=~Q(state=PlanState.APPROVED) | Q(approved_at__isnull=False),
                name="plan_approved_has_time",
            ),
            models.CheckConstraint(condition=Q(total_km__gte=0), name="plan_total_km_sane"),
        ]
        indexes = [models.Index(fields=["association", "day"], name="plan_association_day")]

    def __str__(self) -> str:
        return f"plan {self.pk} ({self.day}, {self.state})"


class PlannedOutcome(models.TextChoices):
    OFFERED = "offered", _("offered")
    RIDE_CHANGED = "ride_changed", _("ride no longer needs a driver")
    DRIVER_DECLINED = "driver_declined", _("driver already said no")
    DRIVER_BUSY = "driver_busy", _("driver busy at that time")


class PlannedAssignment(models.Model):
    """One ride of the plan: its proposed driver and pickup time, or no driver when
    nobody can take it."""

    plan = models.ForeignKey(AssignmentPlan, on_delete=models.CASCADE, related_name="rows")
    ride = models.ForeignKey(RideRequest, on_delete=models.CASCADE, related_name="+")
    driver = models.ForeignKey(
        DriverProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pickup_at = models.DateTimeField(null=True, blank=True)
    empty_km = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    # What approving the plan did with this row (blank before approval).
    outcome = models.CharField(max_length=16, choices=PlannedOutcome.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "ride"], name="planned_ride_once"),
            models.CheckConstraint(
                condition=(
                    Q(driver__isnull=True) & Q(pickup_at__isnull=True) & Q(empty_km__isnull=True)
                )
                | (
                    Q(driver__isnull=False)
                    & Q(pickup_at__isnull=False)
                    & Q(empty_km__isnull=False)
                    & Q(empty_km__gte=0)
                ),
                name="planned_driver_time_and_km_together",
            ),
        ]

    def __str__(self) -> str:
        return f"plan {self.plan_id}: ride {self.ride_id} to driver {self.driver_id}"


class MileagePayout(models.Model):
    """The association has paid a driver's mileage for one month: what was paid (the
    kilometres, rides and amount at the rate of the day it was marked), by whom and
    when. One payout per driver and month, so it cannot be paid twice."""

    association = models.ForeignKey(
        Association, on_delete=models.PROTECT, related_name="mileage_payouts"
    )
    driver = models.ForeignKey(
        DriverProfile, on_delete=models.PROTECT, related_name="mileage_payouts"
    )
    month = models.DateField(_("month"))  # the first day of the month
    rides = models.PositiveIntegerField()
    metres = models.PositiveIntegerField()
    rate_ore_per_km = models.PositiveIntegerField()
    amount_ore = models.PositiveIntegerField()
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    paid_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["driver", "month"], name="mileage_paid_once"),
            models.CheckConstraint(condition=Q(month__day=1), name="mileage_month_first_day"),
            models.CheckConstraint(condition=Q(rides__gte=1), name="mileage_has_rides"),
        ]

    def __str__(self) -> str:
        return f"{self.driver_id} {self.month:%Y-%m}: {self.amount_ore} öre"


class ClaimState(models.TextChoices):
    PENDING = "pending", _("waiting for a coordinator")
    APPROVED = "approved", _("approved")
    DECLINED = "declined", _("declined")


class MileageClaim(models.Model):
    """Kilometres a driver claims for a ride beyond what it can take (`driven_m_max`), with
    why (a detour, a closed road). The ride counts `allowed_m` until a coordinator of its
    association decides: approved, it counts `claimed_m`; declined (with a reason), it
    stays at `allowed_m`. The first decision wins (a conditional UPDATE on the state)."""

    ride = models.OneToOneField(RideRequest, on_delete=models.CASCADE, related_name="mileage_claim")
    claimed_m = models.PositiveIntegerField(_("metres claimed"))
    # What the ride could take when it was completed (the driver's home may move later).
    allowed_m = models.PositiveIntegerField(_("most metres without approval"))
    # The driver's own words: personal text, emptied with the ride's addresses and notes
    # (retention and erasure, backend/privacy), so it may be empty on an old claim.
    explanation = models.CharField(_("why further"), max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=ClaimState.choices, default=ClaimState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Only what the ride cannot take needs approving (so always more than 0, as
            # `allowed_m` is not negative), and never past the cap.
            models.CheckConstraint(
                condition=Q(claimed_m__gt=F("allowed_m")) & Q(claimed_m__lte=DRIVEN_ABSOLUTE_MAX_M),
                name="mileage_claim_above_allowed",
            ),
            # Waiting: nobody has decided. Decided: when is known (by whom may be gone), and
            # only a declined claim has a reason.
            models.CheckConstraint(
                condition=(
                    Q(state=ClaimState.PENDING)
                    & Q(decided_at__isnull=True)
                    & Q(decided_by__isnull=True)
                    & Q(decline_reason="")
                )
                | (
                    Q(state=ClaimState.APPROVED)
                    & Q(decided_at__isnull=False)
                    & Q(decline_reason="")
                )
                | (Q(state=ClaimState.DECLINED) & Q(decided_at__isnull=False)),
                name="mileage_claim_decided_consistently",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(state=ClaimState.PENDING),
                name="mileage_claim_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"claim {self.pk}: ride {self.ride_id}, {self.claimed_m} m ({self.state})"

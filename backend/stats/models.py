"""The statistics summary: one row per service, resource kind, day, association and
village, refreshed by `backend.stats.refresh` from the services' own tables.

Additive figures are plain columns, so any period, village or association is a SUM.
What does not add up is kept so that it can be combined exactly: the people counted are
arrays of person ids (distinct counts over any range come from their union) and the
waiting times to acceptance are an array of seconds (a median over any range comes
from all of them). These tables are internal: analysts only ever see what
`backend.stats.selectors` publishes, after the privacy rule of `backend.stats.privacy`.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from backend.community.models import Association, Municipality, Village


def _ids() -> ArrayField:
    return ArrayField(models.BigIntegerField(), default=list)


class DailyFigures(models.Model):
    service = models.CharField(max_length=20)
    # The kind of resource (car, tool, room) for shared things; empty for the others.
    kind = models.CharField(max_length=20, blank=True, default="")
    day = models.DateField()  # local date (Europe/Stockholm) of the trip or booking
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    association = models.ForeignKey(Association, on_delete=models.CASCADE, related_name="+")
    village = models.ForeignKey(
        Village, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    requests = models.PositiveIntegerField(default=0)
    fulfilled = models.PositiveIntegerField(default=0)
    unfulfilled = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    no_show = models.PositiveIntegerField(default=0)
    passengers = models.PositiveIntegerField(default=0)  # carried on fulfilled trips
    vehicle_m = models.BigIntegerField(default=0)
    passenger_m = models.BigIntegerField(default=0)
    volunteer_s = models.BigIntegerField(default=0)
    volunteer_m = models.BigIntegerField(default=0)
    usage_s = models.BigIntegerField(default=0)  # hours a shared resource was in use
    # People: everyone who asked (the privacy threshold counts them), those served, and
    # the served who were elderly or have a managed profile (subsets of `served`).
    requesters = _ids()
    served = _ids()
    served_elderly = _ids()
    served_managed = _ids()
    accept_delays_s = ArrayField(models.IntegerField(), default=list)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "kind", "day", "association", "village"],
                nulls_distinct=False,
                name="stats_daily_one_row_per_key",
            ),
            models.CheckConstraint(
                condition=Q(
                    requests__gte=F("fulfilled") + F("unfulfilled") + F("cancelled") + F("no_show")
                ),
                name="stats_daily_outcomes_within_requests",
            ),
            models.CheckConstraint(
                condition=Q(served_elderly__contained_by=F("served"))
                & Q(served_managed__contained_by=F("served"))
                & Q(served__contained_by=F("requesters")),
                name="stats_daily_people_subsets",
            ),
            models.CheckConstraint(
                condition=Q(
                    LessThanOrEqual(
                        models.Func(
                            F("accept_delays_s"),
                            function="cardinality",
                            output_field=models.IntegerField(),
                        ),
                        F("requests"),
                    )
                ),
                name="stats_daily_delays_within_requests",
            ),
            models.CheckConstraint(
                condition=Q(vehicle_m__gte=0)
                & Q(passenger_m__gte=0)
                & Q(volunteer_s__gte=0)
                & Q(volunteer_m__gte=0)
                & Q(usage_s__gte=0),
                name="stats_daily_measures_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "day"], name="stats_daily_municipality_day"),
            models.Index(fields=["association", "day"], name="stats_daily_association_day"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.day} {self.association_id}/{self.village_id}"


class UnmetDemand(models.Model):
    """Requests nobody could serve, counted per hexagonal H3 cell of their pickup."""

    service = models.CharField(max_length=20)
    day = models.DateField()
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    association = models.ForeignKey(Association, on_delete=models.CASCADE, related_name="+")
    village = models.ForeignKey(
        Village, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    cell = models.CharField(max_length=16)  # H3 index, hexadecimal
    requests = models.PositiveIntegerField()
    requesters = _ids()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "day", "association", "village", "cell"],
                nulls_distinct=False,
                name="stats_unmet_one_row_per_key",
            ),
            models.CheckConstraint(condition=Q(requests__gte=1), name="stats_unmet_has_requests"),
        ]
        indexes = [
            models.Index(fields=["municipality", "day"], name="stats_unmet_municipality_day"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.day} {self.cell}: {self.requests}"


class RefreshState(models.Model):
    """Where the incremental refresh of one service got to."""

    service = models.CharField(max_length=20, primary_key=True)
    # Start of the last successful refresh: changes from (a margin before) then on are
    # picked up by the next one.
    refreshed_from = models.DateTimeField()
    full_rebuild_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.service}: {self.refreshed_from}"


class MonthlyPeople(models.Model):
    """Who asked for something in a month, per service, association and village, and
    whether they were served (and elderly, managed). Derived from `DailyFigures` by the
    refresh; distinct people over whole months come from here (one row per person and
    month instead of one per ride), which keeps a year's dashboard fast."""

    service = models.CharField(max_length=20)
    kind = models.CharField(max_length=20, blank=True, default="")
    month = models.DateField()  # first day of the month
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    association = models.ForeignKey(Association, on_delete=models.CASCADE, related_name="+")
    village = models.ForeignKey(
        Village, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    person_id = models.BigIntegerField()
    served = models.BooleanField()
    elderly = models.BooleanField()
    managed = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "kind", "month", "association", "village", "person_id"],
                nulls_distinct=False,
                name="stats_people_one_row_per_person",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="stats_people_month_starts_on_the_first"
            ),
            models.CheckConstraint(
                condition=Q(served=True) | (Q(elderly=False) & Q(managed=False)),
                name="stats_people_flags_only_when_served",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "month"], name="stats_people_municipality"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.month:%Y-%m} {self.person_id}"


class KeyBit(models.Model):
    """The bit of a village, association or service (`service` or `service:kind`) in the
    masks of `PersonMonth`, per municipality. Given by the refresh when a key first
    appears and never changed (a key that is gone keeps its bit), so masks written at
    different times agree."""

    DIMENSIONS = ("village", "association", "service")
    # Bits 0..62 of a bigint: a municipality with more keys in a dimension than that
    # has the rest without a bit, and its dashboard counts people the long way.
    BITS = 63

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=20)
    key = models.CharField(max_length=60)  # village or association id, '' for no village
    bit = models.PositiveSmallIntegerField(null=True, blank=True)  # NULL: out of bits

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "dimension", "key"], name="stats_keybit_one_per_key"
            ),
            models.UniqueConstraint(
                fields=["municipality", "dimension", "bit"], name="stats_keybit_one_key_per_bit"
            ),
            models.CheckConstraint(condition=Q(bit__lt=63), name="stats_keybit_fits_a_bigint"),
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id} {self.dimension} {self.key}: {self.bit}"


class PersonMonth(models.Model):
    """One row per person who asked for something in a municipality in a month: the
    villages, associations and services (bits of `KeyBit`) they asked in, were served
    in, were served in while elderly, were served in with a managed profile. Derived
    from `MonthlyPeople` by the refresh. A year's distinct people per village,
    association, service and month then come from one pass over these rows (OR of the
    masks per person, then a count per bit) instead of hashing (row, person) pairs.
    Internal like the rest: person ids never leave the database."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # first day of the month
    person_id = models.BigIntegerField()
    village = models.BigIntegerField()  # masks: requested
    village_served = models.BigIntegerField()
    village_elderly = models.BigIntegerField()
    village_managed = models.BigIntegerField()
    association = models.BigIntegerField()
    association_served = models.BigIntegerField()
    association_elderly = models.BigIntegerField()
    association_managed = models.BigIntegerField()
    service = models.BigIntegerField()
    service_served = models.BigIntegerField()
    service_elderly = models.BigIntegerField()
    service_managed = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "month", "person_id"],
                name="stats_personmonth_one_per_person",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="stats_personmonth_month_starts_on_the_first"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id} {self.month:%Y-%m} {self.person_id}"


class ChangedPerson(models.Model):
    """A person whose own details that the figures use (elderly, managed) changed, e.g.
    when they were erased: the next refresh recomputes every day they are counted in.
    Rows older than a full rebuild are dropped by it."""

    person_id = models.BigIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["changed_at"], name="stats_changedperson_at")]

    def __str__(self) -> str:
        return f"{self.person_id} at {self.changed_at}"

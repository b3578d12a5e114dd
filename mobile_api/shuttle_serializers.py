"""Input and output shapes of shop runs. Input serializers only parse and check types;
the rules are in `backend.shuttle` and `dispatch.shop_runs`.

What each person sees (see backend/shuttle/selectors.py): members see runs and seats
left; people see their own sign-ups (and those of whom they book for); coordinators see
every sign-up, the cars and the plan; a driver sees the run sheet of their own car and,
before taking a run, only the villages and the number of passengers.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.community.models import Association, Village
from backend.rides.models import Need
from backend.shuttle.models import (
    OccurrenceState,
    Outcome,
    RunOccurrence,
    RunOffer,
    RunSchedule,
    RunSignup,
    StandingSignup,
)
from mobile_api.fields import DateTimeField, PointField
from mobile_api.rides_serializers import PlaceInput

# --- Input ---------------------------------------------------------------------------------


class ScheduleInput(serializers.Serializer):
    association = serializers.PrimaryKeyRelatedField(queryset=Association.objects.all())
    name = serializers.CharField(max_length=100)
    rrule = serializers.CharField(
        max_length=300, help_text='RFC 5545 RRULE, e.g. "FREQ=WEEKLY;BYDAY=TH".'
    )
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    arrive_at = serializers.TimeField(help_text="Local time at the shop.")
    leave_at = serializers.TimeField(help_text="Local time the run leaves the shop.")
    destination = PointField(help_text="The shop.")
    destination_name = serializers.CharField(max_length=200)
    villages = serializers.ListField(
        child=serializers.IntegerField(),
        default=list,
        max_length=50,
        help_text="Villages served; empty: all of the association's.",
    )
    seats_per_vehicle = serializers.IntegerField(default=4)
    max_vehicles = serializers.IntegerField(default=2)
    deadline_days = serializers.IntegerField(
        default=1, help_text="Sign-up closes this many days before…"
    )
    deadline_time = serializers.TimeField(help_text="…at this local time.")


class SignupInput(serializers.Serializer):
    passenger = serializers.IntegerField(
        required=False, help_text="Who comes along: you (the default) or someone you book for."
    )
    pickup = PlaceInput(required=False, help_text="Default: the passenger's home.")
    needs = serializers.ListField(
        child=serializers.ChoiceField(choices=Need.choices), default=list, max_length=len(Need)
    )
    note = serializers.CharField(max_length=500, allow_blank=True, default="")
    standing = serializers.BooleanField(
        default=False, help_text="Every time until further notice (this and later runs)."
    )
    waitlist = serializers.BooleanField(
        default=False, help_text="If the run is full, join the waitlist instead of a 409."
    )


class MoveInput(serializers.Serializer):
    arrive_at = DateTimeField()
    leave_at = DateTimeField()


class OutcomeInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)


# --- Output --------------------------------------------------------------------------------


class VillageName(serializers.ModelSerializer):
    class Meta:
        model = Village
        fields = ["id", "name"]


class ScheduleOutput(serializers.ModelSerializer):
    destination = PointField()
    villages = VillageName(many=True)

    class Meta:
        model = RunSchedule
        fields = [
            "id",
            "association",
            "name",
            "rrule",
            "starts_on",
            "ends_on",
            "arrive_at",
            "leave_at",
            "destination",
            "destination_name",
            "villages",
            "seats_per_vehicle",
            "max_vehicles",
            "deadline_days",
            "deadline_time",
            "active",
        ]


class RunOutput(serializers.ModelSerializer):
    """A run as members see it: when, where, seats left, whether sign-up is open."""

    name = serializers.CharField(source="schedule.name")
    shop = serializers.CharField(source="schedule.destination_name")
    destination = PointField(source="schedule.destination")
    seats_left = serializers.IntegerField()
    signup_open = serializers.SerializerMethodField()

    class Meta:
        model = RunOccurrence
        fields = [
            "id",
            "schedule",
            "association",
            "name",
            "shop",
            "destination",
            "arrive_at",
            "leave_at",
            "signup_deadline",
            "state",
            "state_reason",
            "moved_at",
            "capacity",
            "seats_left",
            "signup_open",
        ]

    def get_signup_open(self, occurrence: RunOccurrence) -> bool:
        now = timezone.now()
        return occurrence.state == OccurrenceState.SCHEDULED and occurrence.signup_deadline > now


class CarBrief(serializers.Serializer):
    id = serializers.IntegerField()
    driver = serializers.CharField()
    phone = serializers.CharField()
    seats = serializers.IntegerField()


class CoordinatorRunOutput(RunOutput):
    """The coordinator's run list: counts, cars, and the state of the plan."""

    seats_taken = serializers.IntegerField()
    waitlisted = serializers.IntegerField()
    cars = serializers.SerializerMethodField()
    plan_km = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)

    class Meta(RunOutput.Meta):
        fields = [
            *RunOutput.Meta.fields,
            "seats_taken",
            "waitlisted",
            "cars",
            "planned_at",
            "plan_km",
            "plan_problem",
        ]

    @extend_schema_field(CarBrief(many=True))
    def get_cars(self, occurrence: RunOccurrence) -> list[dict]:
        return [
            {
                "id": vehicle.pk,
                "driver": vehicle.driver.membership.user.full_name,
                "phone": vehicle.driver.membership.user.phone,
                "seats": vehicle.seats,
            }
            for vehicle in occurrence.vehicles.all()
        ]


class PassengerBrief(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class SignupOutput(serializers.ModelSerializer):
    passenger = PassengerBrief()
    run = RunOutput(source="occurrence")
    pickup = PointField()
    waitlist_position = serializers.IntegerField(allow_null=True)

    class Meta:
        model = RunSignup
        fields = [
            "id",
            "run",
            "passenger",
            "signed_up_by",
            "state",
            "waitlist_position",
            "offer_expires_at",
            "pickup",
            "pickup_address",
            "needs",
            "note",
            "seats",
            "standing",
            "estimated_pickup",
            "created_at",
        ]


class RunSignupRowOutput(serializers.ModelSerializer):
    """One sign-up in the coordinator's list of a run."""

    passenger = PassengerBrief()
    phone = serializers.CharField(source="passenger.phone")
    waitlist_position = serializers.IntegerField(allow_null=True)

    class Meta:
        model = RunSignup
        fields = [
            "id",
            "passenger",
            "phone",
            "signed_up_by",
            "state",
            "waitlist_position",
            "pickup_address",
            "needs",
            "note",
            "seats",
            "standing",
            "car_number",
            "stop_order",
            "estimated_pickup",
            "outcome",
        ]


class StandingOutput(serializers.ModelSerializer):
    passenger = PassengerBrief()
    schedule_name = serializers.CharField(source="schedule.name")

    class Meta:
        model = StandingSignup
        fields = [
            "id",
            "schedule",
            "schedule_name",
            "passenger",
            "pickup_address",
            "needs",
            "note",
            "active",
            "created_at",
            "ended_at",
        ]


class RunOfferOutput(serializers.ModelSerializer):
    """What a driver learns before taking a run: no names, no addresses."""

    arrive_at = serializers.DateTimeField(source="occurrence.arrive_at")
    leave_at = serializers.DateTimeField(source="occurrence.leave_at")
    shop = serializers.CharField(source="occurrence.schedule.destination_name")
    passengers = serializers.IntegerField(source="occurrence.seats_taken")
    run = serializers.IntegerField(source="occurrence_id")

    class Meta:
        model = RunOffer
        fields = ["id", "run", "state", "arrive_at", "leave_at", "shop", "passengers"]


class VehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run = serializers.IntegerField(source="occurrence_id")
    driver = serializers.IntegerField(source="driver_id")
    seats = serializers.IntegerField()


class SheetStopOutput(serializers.Serializer):
    signup = serializers.IntegerField(source="signup_id")
    order = serializers.IntegerField(allow_null=True)
    estimated_pickup = serializers.DateTimeField(allow_null=True)
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField(
        help_text="Their phone, or for someone without one the relative who takes their calls."
    )
    needs = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField()
    seats = serializers.IntegerField()
    outcome = serializers.CharField()


class SheetCarOutput(serializers.Serializer):
    number = serializers.IntegerField(allow_null=True)
    vehicle = serializers.IntegerField(source="vehicle_id", allow_null=True)
    driver_name = serializers.CharField()
    driver_phone = serializers.CharField()
    car = serializers.CharField()
    seats = serializers.IntegerField(allow_null=True)
    km = serializers.FloatField(allow_null=True)
    stops = SheetStopOutput(many=True)


class RunSheetOutput(serializers.Serializer):
    run = RunOutput(source="occurrence")
    plan_problem = serializers.CharField(source="occurrence.plan_problem")
    planned_at = serializers.DateTimeField(source="occurrence.planned_at", allow_null=True)
    cars = SheetCarOutput(many=True)
    unplanned = SheetStopOutput(many=True)

"""Demo data for shop runs, on top of the community and rides demos: a Thursday run to
the shop in Vansbro from the three villages, Ingrid and Greta coming every week, Sven
this week, and Maria Berg (free on Thursdays) driving the first run. The pickup order
is planned by the running app (beat, `plan_stale_runs`). Safe to run again."""

from datetime import time

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from backend.community.models import Association, Role
from backend.rides.models import DriverProfile
from backend.shuttle.models import RunSchedule, RunSignup, RunVehicle, StandingSignup
from backend.shuttle.services import schedule_create, signup_create, vehicle_add

SHOP = Point(14.2300, 60.5110, srid=4326)  # ICA Nära, Vansbro
NAME = "Torsdagshandling"
EVERY_WEEK = ["Ingrid Svensson", "Greta Andersson"]
THIS_WEEK = {"Sven Jansson": ["walker", "bags"]}
DRIVER = "Maria Berg"


@transaction.atomic
def seed_shuttle_demo(*, association: Association) -> None:
    coordinator = association.memberships.filter(roles__contains=[Role.COORDINATOR]).first().user
    schedule = RunSchedule.objects.filter(association=association, name=NAME).first()
    if schedule is None:
        schedule = schedule_create(
            actor=coordinator,
            association=association,
            name=NAME,
            rrule="FREQ=WEEKLY;BYDAY=TH",
            starts_on=timezone.localdate(),
            arrive_at=time(11, 0),
            leave_at=time(12, 30),
            destination=SHOP,
            destination_name="ICA Nära Vansbro",
            deadline_time=time(18, 0),
            village_ids=list(association.villages.values_list("pk", flat=True)),
            seats_per_vehicle=4,
            max_vehicles=2,
        )
    first = schedule.occurrences.filter(arrive_at__gt=timezone.now()).order_by("arrive_at").first()
    if first is None:
        return
    people = {m.user.full_name: m.user for m in association.memberships.select_related("user")}
    for name in EVERY_WEEK:
        if not StandingSignup.objects.filter(schedule=schedule, passenger=people[name]).exists():
            signup_create(
                actor=coordinator,
                occurrence=first,
                passenger=people[name],
                needs=["bags"],
                standing=True,
                waitlist=True,
            )
    for name, needs in THIS_WEEK.items():
        if not RunSignup.objects.filter(occurrence=first, passenger=people[name]).exists():
            signup_create(actor=coordinator, occurrence=first, passenger=people[name], needs=needs)
    driver = DriverProfile.objects.filter(membership__user=people[DRIVER]).first()
    if driver is not None and not RunVehicle.objects.filter(occurrence=first).exists():
        vehicle_add(occurrence=first, driver=driver, actor=coordinator, by_coordinator=True)

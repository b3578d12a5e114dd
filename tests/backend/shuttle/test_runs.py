"""Shop run schedules and their occurrences: RRULE dates in local time, materialising
ahead (twice is once), cancelling and moving one run (everyone is told), and the
database's own rules."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.errors import ApplicationError
from backend.notifications.models import Notification
from backend.shuttle.models import (
    OccurrenceState,
    RunOccurrence,
    RunSignup,
    RunVehicle,
    SignupState,
)
from backend.shuttle.recurrence import local_moment, parse_rule, rule_dates
from backend.shuttle.services import (
    occurrence_cancel,
    occurrence_move,
    occurrences_materialise,
    schedule_create,
    signup_create,
    vehicle_add,
    vehicle_busy_range,
)
from tests.shuttle_world import SHOP, make_world, run_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.ROUTER_URL = ""
    return make_world()


def test_weekly_rule_gives_the_weekday_in_local_time_across_the_clock_change():
    rule = parse_rule("FREQ=WEEKLY;BYDAY=TH", starts_on=datetime.date(2026, 10, 1))
    days = rule_dates(rule, start=datetime.date(2026, 10, 1), end=datetime.date(2026, 11, 5))
    assert days == [datetime.date(2026, 10, d) for d in (1, 8, 15, 22, 29)] + [
        datetime.date(2026, 11, 5)
    ]
    # 10:00 at the shop is 08:00 UTC in summer time and 09:00 UTC after 25 October.
    assert local_moment(days[3], datetime.time(10)).astimezone(datetime.UTC).hour == 8
    assert local_moment(days[4], datetime.time(10)).astimezone(datetime.UTC).hour == 9


def test_monthly_first_tuesday():
    rule = parse_rule("RRULE:FREQ=MONTHLY;BYDAY=1TU", starts_on=datetime.date(2026, 1, 1))
    days = rule_dates(rule, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 3, 31))
    assert days == [datetime.date(2026, 1, 6), datetime.date(2026, 2, 3), datetime.date(2026, 3, 3)]


def test_schedule_creates_occurrences_for_the_horizon(world, settings):
    occurrences = list(world.schedule.occurrences.order_by("arrive_at"))
    first = run_day()
    assert [o.rule_date for o in occurrences] == [
        first + datetime.timedelta(days=7 * i)
        for i in range(5)
        if first + datetime.timedelta(days=7 * i)
        <= timezone.localdate() + datetime.timedelta(days=settings.SHUTTLE_HORIZON_DAYS)
    ]
    occurrence = occurrences[0]
    assert timezone.localtime(occurrence.arrive_at).time() == datetime.time(10, 0)
    assert timezone.localtime(occurrence.leave_at).time() == datetime.time(11, 30)
    assert timezone.localtime(occurrence.signup_deadline) == local_moment(
        first - datetime.timedelta(days=1), datetime.time(18, 0)
    )
    assert occurrence.capacity == 8  # 4 seats x 2 cars
    assert occurrence.seats_taken == 0


def test_materialising_twice_creates_nothing_and_keeps_a_moved_run(world):
    occurrence = world.occurrence
    new_time = occurrence.arrive_at + datetime.timedelta(days=1)
    occurrence_move(
        actor=world.coordinator,
        occurrence=occurrence,
        arrive_at=new_time,
        leave_at=new_time + datetime.timedelta(hours=1),
    )
    count = RunOccurrence.objects.count()
    assert occurrences_materialise(schedule=world.schedule) == []
    assert RunOccurrence.objects.count() == count
    occurrence.refresh_from_db()
    assert occurrence.arrive_at == new_time


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        pytest.param({"rrule": "FREQ=HOURLY"}, "rrule_invalid", "rrule", id="too-often"),
        pytest.param({"rrule": "EVERY THURSDAY"}, "rrule_invalid", "rrule", id="not-an-rrule"),
        pytest.param({"rrule": ""}, "rrule_invalid", "rrule", id="empty-rule"),
        pytest.param(
            {"leave_at": datetime.time(9, 0)}, "run_times_invalid", "leave_at", id="leaves-first"
        ),
        pytest.param(
            {"seats_per_vehicle": 0}, "run_value_invalid", "seats_per_vehicle", id="no-seats"
        ),
        pytest.param({"max_vehicles": 9}, "run_value_invalid", "max_vehicles", id="nine-cars"),
        pytest.param(
            {"starts_on": datetime.date(2020, 1, 1)}, "run_times_invalid", "starts_on", id="past"
        ),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_written(world, changes, code, field):
    arguments = {
        "actor": world.coordinator,
        "association": world.association,
        "name": "Fredagshandling",
        "rrule": "FREQ=WEEKLY;BYDAY=FR",
        "starts_on": timezone.localdate(),
        "arrive_at": datetime.time(10, 0),
        "leave_at": datetime.time(11, 30),
        "destination": SHOP,
        "destination_name": "ICA",
        "deadline_time": datetime.time(18, 0),
        **changes,
    }
    before = RunOccurrence.objects.count()
    with pytest.raises(ApplicationError) as error:
        schedule_create(**arguments)
    assert error.value.code == code
    assert list(error.value.fields) == [field]
    assert RunOccurrence.objects.count() == before
    assert world.association.run_schedules.count() == 1


def test_only_a_coordinator_sets_up_runs(world):
    with pytest.raises(ApplicationError) as error:
        schedule_create(
            actor=world.residents[0],
            association=world.association,
            name="x",
            rrule="FREQ=WEEKLY;BYDAY=FR",
            starts_on=timezone.localdate(),
            arrive_at=datetime.time(10, 0),
            leave_at=datetime.time(11, 0),
            destination=SHOP,
            destination_name="ICA",
            deadline_time=datetime.time(18, 0),
        )
    assert error.value.code == "run_not_allowed"


def _sign_up_three(world):
    signups = [
        signup_create(
            actor=world.residents[0], occurrence=world.occurrence, passenger=world.residents[0]
        ),
        signup_create(actor=world.daughter, occurrence=world.occurrence, passenger=world.managed),
        signup_create(
            actor=world.coordinator, occurrence=world.occurrence, passenger=world.residents[1]
        ),
    ]
    vehicle_add(
        occurrence=world.occurrence,
        driver=world.drivers[0],
        actor=world.coordinator,
        by_coordinator=True,
    )
    return signups


def test_moving_a_run_tells_everyone_signed_up_and_the_driver(
    world, django_capture_on_commit_callbacks
):
    _sign_up_three(world)
    occurrence = world.occurrence
    new_arrival = occurrence.arrive_at + datetime.timedelta(days=1, hours=1)
    Notification.objects.all().delete()
    moved = occurrence_move(
        actor=world.coordinator,
        occurrence=occurrence,
        arrive_at=new_arrival,
        leave_at=new_arrival + datetime.timedelta(hours=1, minutes=30),
    )
    told = set(
        Notification.objects.filter(kind="shuttle.run_moved").values_list("recipient_id", flat=True)
    )
    assert told == {
        world.residents[0].pk,
        world.managed.pk,
        world.daughter.pk,
        world.residents[1].pk,
        world.coordinator.pk,  # signed up Boende 1
        world.driver_user(0).pk,
    }
    payload = Notification.objects.filter(kind="shuttle.run_moved").first().payload
    assert payload["when"] == timezone.localtime(new_arrival).strftime("%Y-%m-%d %H:%M")
    assert moved.moved_at is not None
    assert moved.plan_stale
    # The driver's time moved along; the deadline too (the day before 18:00).
    vehicle = RunVehicle.objects.get(occurrence=occurrence)
    assert vehicle.busy == vehicle_busy_range(moved)
    assert timezone.localtime(moved.signup_deadline).date() == timezone.localtime(
        new_arrival
    ).date() - datetime.timedelta(days=1)


def test_moving_to_the_past_or_backwards_is_refused_and_nothing_changes(world):
    occurrence = world.occurrence
    for arrive, leave, code in [
        (timezone.now() - datetime.timedelta(hours=1), timezone.now(), "run_times_invalid"),
        (
            occurrence.arrive_at,
            occurrence.arrive_at - datetime.timedelta(hours=1),
            "run_times_invalid",
        ),
    ]:
        with pytest.raises(ApplicationError) as error:
            occurrence_move(
                actor=world.coordinator, occurrence=occurrence, arrive_at=arrive, leave_at=leave
            )
        assert error.value.code == code
    fresh = RunOccurrence.objects.get(pk=occurrence.pk)
    assert (fresh.arrive_at, fresh.moved_at) == (occurrence.arrive_at, None)


def test_cancelling_a_run_tells_everyone_and_a_resident_cannot(world):
    _sign_up_three(world)
    with pytest.raises(ApplicationError) as error:
        occurrence_cancel(actor=world.residents[0], occurrence=world.occurrence, reason="snö")
    assert error.value.code == "run_not_allowed"
    cancelled = occurrence_cancel(
        actor=world.coordinator, occurrence=world.occurrence, reason="Snöstorm"
    )
    assert cancelled.state == OccurrenceState.CANCELLED
    told = Notification.objects.filter(kind="shuttle.run_cancelled")
    assert told.count() == 6
    assert told.first().payload["reason"] == "Snöstorm"
    with pytest.raises(ApplicationError) as error:
        signup_create(actor=world.residents[2], occurrence=cancelled, passenger=world.residents[2])
    assert error.value.code == "run_not_open"


# --- The database's own rules ------------------------------------------------------------


def test_database_refuses_more_seats_than_capacity(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        RunOccurrence.objects.filter(pk=world.occurrence.pk).update(seats_taken=9)


def test_database_refuses_a_second_active_signup_of_one_person(world):
    signup = signup_create(
        actor=world.residents[0], occurrence=world.occurrence, passenger=world.residents[0]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RunSignup.objects.create(
            occurrence=signup.occurrence,
            passenger=signup.passenger,
            signed_up_by=signup.passenger,
            pickup=signup.pickup,
            pickup_address="x",
            state=SignupState.WAITLISTED,
        )


def test_database_refuses_a_driver_on_two_overlapping_runs(world):
    vehicle_add(
        occurrence=world.occurrence,
        driver=world.drivers[0],
        actor=world.coordinator,
        by_coordinator=True,
    )
    other = RunOccurrence.objects.create(
        schedule=world.schedule,
        association=world.association,
        rule_date=datetime.date(2099, 1, 1),
        arrive_at=world.occurrence.arrive_at + datetime.timedelta(minutes=30),
        leave_at=world.occurrence.leave_at,
        signup_deadline=world.occurrence.signup_deadline,
        capacity=4,
    )
    with pytest.raises(ApplicationError) as error:
        vehicle_add(
            occurrence=other, driver=world.drivers[0], actor=world.coordinator, by_coordinator=True
        )
    assert error.value.code == "driver_busy"
    assert RunVehicle.objects.filter(occurrence=other).count() == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        RunVehicle.objects.create(
            occurrence=other, driver=world.drivers[0], seats=4, busy=vehicle_busy_range(other)
        )


def test_database_refuses_an_offered_seat_without_expiry(world):
    signup = signup_create(
        actor=world.residents[0], occurrence=world.occurrence, passenger=world.residents[0]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RunSignup.objects.filter(pk=signup.pk).update(state=SignupState.OFFERED)

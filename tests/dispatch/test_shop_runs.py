"""Shop runs in dispatch on PostGIS: the pickup order saved on the sign-ups, two cars
when the seats need them, an infeasible run explained to the coordinators, reminders
sent once, and drivers found like for a ride."""

import datetime
import threading

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.errors import ApplicationError
from backend.notifications.models import Channel, Delivery, Notification, Reminder
from backend.notifications.reminders import reminders_send_due
from backend.rides.models import RideState
from backend.shuttle.models import RunOccurrence, RunOffer, RunOfferState, RunSignup, RunVehicle
from backend.shuttle.services import reminder_due, signup_create, vehicle_add, vehicle_withdraw
from dispatch.shop_runs import (
    occurrence_plan,
    run_assign_by_coordinator,
    run_offer_accept,
    run_offer_drivers,
)
from tests.factories import RideRequestFactory
from tests.shuttle_world import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.ROUTER_URL = ""
    return make_world()


def sign_up_everyone(world, count: int | None = None):
    people = [*world.residents, world.managed][:count]
    return [
        signup_create(actor=world.coordinator, occurrence=world.occurrence, passenger=person)
        for person in people
    ]


def test_plan_gives_each_passenger_an_order_and_a_time_before_the_arrival(world, settings):
    signups = sign_up_everyone(world, 3)
    vehicle_add(
        occurrence=world.occurrence,
        driver=world.drivers[0],
        actor=world.coordinator,
        by_coordinator=True,
    )
    outcome = occurrence_plan(occurrence_id=world.occurrence.pk)
    assert outcome.saved and outcome.problem == ""
    occurrence = RunOccurrence.objects.get(pk=world.occurrence.pk)
    rows = list(RunSignup.objects.filter(pk__in=[s.pk for s in signups]).order_by("stop_order"))
    assert [row.stop_order for row in rows] == [1, 2, 3]
    assert {row.car_number for row in rows} == {1}
    vehicle = RunVehicle.objects.get(occurrence=occurrence)
    assert {row.vehicle_id for row in rows} == {vehicle.pk}
    times = [row.estimated_pickup for row in rows]
    assert times == sorted(times)
    earliest = occurrence.arrive_at - datetime.timedelta(
        minutes=settings.SHUTTLE_PICKUP_WINDOW_MINUTES
    )
    assert all(earliest <= at < occurrence.arrive_at for at in times)
    assert all(at.second == 0 for at in times)
    assert occurrence.plan_km == vehicle.plan_km > 0
    assert not occurrence.plan_stale
    # Nothing changed: a second call does not plan again.
    assert not occurrence_plan(occurrence_id=occurrence.pk).saved


def test_two_cars_when_the_signups_exceed_one_cars_seats(world):
    signups = sign_up_everyone(world)  # 7 passengers, 4 seats per car
    for driver in world.drivers:
        vehicle_add(
            occurrence=world.occurrence, driver=driver, actor=world.coordinator, by_coordinator=True
        )
    outcome = occurrence_plan(occurrence_id=world.occurrence.pk)
    assert outcome.saved and outcome.plan.feasible
    rows = list(RunSignup.objects.filter(pk__in=[s.pk for s in signups]))
    by_car: dict[int, list[RunSignup]] = {}
    for row in rows:
        by_car.setdefault(row.vehicle_id, []).append(row)
    assert set(by_car) == set(
        RunVehicle.objects.filter(occurrence=world.occurrence).values_list("pk", flat=True)
    )
    assert all(len(car) <= 4 for car in by_car.values())
    assert sum(len(car) for car in by_car.values()) == 7
    for car in by_car.values():
        assert sorted(row.stop_order for row in car) == list(range(1, len(car) + 1))


def test_without_drivers_yet_the_plan_uses_cars_to_come(world):
    sign_up_everyone(world, 5)
    outcome = occurrence_plan(occurrence_id=world.occurrence.pk)
    assert outcome.saved
    rows = RunSignup.objects.filter(occurrence=world.occurrence)
    assert {row.car_number for row in rows} == {1, 2}
    assert all(row.vehicle_id is None and row.estimated_pickup is not None for row in rows)


def test_a_run_that_cannot_be_planned_is_explained_to_the_coordinator_once(world):
    signups = sign_up_everyone(world, 2)
    RunSignup.objects.filter(pk=signups[0].pk).update(needs=["wheelchair"])
    vehicle_add(
        occurrence=world.occurrence,
        driver=world.drivers[0],
        actor=world.coordinator,
        by_coordinator=True,
    )
    outcome = occurrence_plan(occurrence_id=world.occurrence.pk)
    assert outcome.saved
    assert signups[0].passenger.full_name in outcome.problem
    assert "wheelchair" in outcome.problem
    occurrence = RunOccurrence.objects.get(pk=world.occurrence.pk)
    assert occurrence.plan_problem == outcome.problem
    assert occurrence.plan_km is None
    assert not RunSignup.objects.filter(
        occurrence=occurrence, estimated_pickup__isnull=False
    ).exists()
    occurrence_plan(occurrence_id=occurrence.pk, force=True)
    problems = Notification.objects.filter(kind="shuttle.plan_problem", recipient=world.coordinator)
    assert problems.count() == 1
    # Maria's car takes a wheelchair: with it instead of Erik's, the plan works.
    vehicle_withdraw(actor=world.coordinator, vehicle=RunVehicle.objects.get(occurrence=occurrence))
    vehicle_add(
        occurrence=occurrence, driver=world.drivers[1], actor=world.coordinator, by_coordinator=True
    )
    fixed = occurrence_plan(occurrence_id=occurrence.pk, force=True)
    assert fixed.problem == ""
    assert RunSignup.objects.get(pk=signups[0].pk).vehicle.driver == world.drivers[1]


def test_a_plan_made_from_outdated_data_is_dropped(world):
    sign_up_everyone(world, 2)
    from backend.shuttle.services import plan_lease_take, plan_save

    lease = plan_lease_take(occurrence_id=world.occurrence.pk)
    assert lease is not None
    # A second planner stays off the run while the first one holds it.
    assert plan_lease_take(occurrence_id=world.occurrence.pk) is None
    # Someone signs up while the solver runs.
    signup_create(
        actor=world.coordinator, occurrence=world.occurrence, passenger=world.residents[4]
    )
    assert not plan_save(lease=lease, stops=[], vehicle_km={}, total_km=1.0, problem="")
    occurrence = RunOccurrence.objects.get(pk=world.occurrence.pk)
    assert occurrence.planned_at is None
    assert occurrence.plan_stale is True
    assert occurrence.plan_lease_token is None  # given back: the next planner may start


def test_reminders_are_sent_once_with_the_pickup_time(world):
    signups = sign_up_everyone(world, 2)
    greta = signup_create(
        actor=world.daughter, occurrence=world.occurrence, passenger=world.managed
    )
    vehicle_add(
        occurrence=world.occurrence,
        driver=world.drivers[0],
        actor=world.coordinator,
        by_coordinator=True,
    )
    occurrence_plan(occurrence_id=world.occurrence.pk)
    occurrence = RunOccurrence.objects.get(pk=world.occurrence.pk)
    due = reminder_due(occurrence)
    assert timezone.localtime(due).date() == timezone.localtime(
        occurrence.arrive_at
    ).date() - datetime.timedelta(days=1)
    assert reminders_send_due(now=due - datetime.timedelta(minutes=1)) == 0
    assert (
        reminders_send_due(now=due + datetime.timedelta(minutes=1)) == 4
    )  # 3 passengers, 1 driver
    assert reminders_send_due(now=due + datetime.timedelta(minutes=2)) == 0
    # Planning again after they went out sends nothing new.
    occurrence_plan(occurrence_id=occurrence.pk, force=True)
    assert reminders_send_due(now=due + datetime.timedelta(minutes=3)) == 0
    sent = Notification.objects.filter(kind="shuttle.reminder")
    assert sorted(sent.values_list("recipient_id", flat=True)) == sorted(
        [signups[0].passenger_id, signups[1].passenger_id, world.managed.pk]
    )
    mine = sent.get(recipient=signups[0].passenger)
    estimated = RunSignup.objects.get(pk=signups[0].pk).estimated_pickup
    assert mine.payload["pickup"] == timezone.localtime(estimated).strftime("%H:%M")
    assert mine.payload["address"] == signups[0].pickup_address
    # Greta has no phone: her reminder goes by SMS to her daughter.
    sms = Delivery.objects.get(
        notification__recipient=world.managed,
        notification__kind="shuttle.reminder",
        channel=Channel.SMS,
    )
    assert sms.address == world.daughter.phone
    driver = Notification.objects.get(kind="shuttle.driver_reminder")
    assert driver.recipient == world.driver_user(0)
    assert driver.payload["stops"] == 3
    assert Reminder.objects.filter(key__startswith="shuttle:", sent_at__isnull=False).count() == 4
    assert greta.pk


# --- Drivers -----------------------------------------------------------------------------------


def test_run_is_offered_to_available_drivers_not_busy_with_a_ride(world):
    sign_up_everyone(world, 3)
    # Erik holds a ride during the run: he is not asked.
    pickup = world.occurrence.arrive_at - datetime.timedelta(minutes=30)
    RideRequestFactory(
        rider=world.residents[5],
        association=world.association,
        earliest_pickup=pickup,
        latest_pickup=pickup,
        state=RideState.ACCEPTED,
        driver=world.drivers[0],
        busy=DateTimeTZRange(pickup, pickup + datetime.timedelta(minutes=20)),
    )
    offers = run_offer_drivers(occurrence_id=world.occurrence.pk)
    assert [offer.driver for offer in offers] == [world.drivers[1]]
    note = Notification.objects.get(kind="shuttle.run_offered")
    assert note.recipient == world.driver_user(1)
    assert note.payload["passengers"] == 3
    assert "Vansbro" in note.payload["villages"]
    # Nobody else to ask, and one pending: no second round, no alert yet.
    assert run_offer_drivers(occurrence_id=world.occurrence.pk) == []
    assert not Notification.objects.filter(kind="shuttle.run_needs_driver").exists()


def test_no_driver_available_alerts_the_coordinators(world):
    sign_up_everyone(world, 2)
    for driver in world.drivers:
        driver.slots.all().delete()
    assert run_offer_drivers(occurrence_id=world.occurrence.pk) == []
    alert = Notification.objects.get(kind="shuttle.run_needs_driver")
    assert alert.recipient == world.coordinator


def test_accepting_gives_a_car_and_withdraws_the_others_when_one_car_is_enough(
    world, django_capture_on_commit_callbacks
):
    sign_up_everyone(world, 3)
    offers = run_offer_drivers(occurrence_id=world.occurrence.pk)
    assert len(offers) == 2
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        vehicle = run_offer_accept(offer_id=offers[0].pk, actor=offers[0].driver.membership.user)
    assert len(callbacks) >= 1  # the new pickup order is planned after commit
    assert vehicle.driver == offers[0].driver
    assert RunOffer.objects.get(pk=offers[1].pk).state == RunOfferState.WITHDRAWN
    with pytest.raises(ApplicationError) as error:
        run_offer_accept(offer_id=offers[1].pk, actor=offers[1].driver.membership.user)
    assert error.value.code == "run_offer_closed"
    with pytest.raises(ApplicationError) as error:
        run_offer_accept(offer_id=offers[0].pk, actor=world.residents[0])
    assert error.value.kind == "not_found"


def test_coordinator_assigns_a_second_car_only_when_seats_need_it(world):
    sign_up_everyone(world, 3)
    run_assign_by_coordinator(
        occurrence=world.occurrence, driver=world.drivers[0], actor=world.coordinator
    )
    assert Notification.objects.filter(
        kind="shuttle.run_assigned", recipient=world.driver_user(0)
    ).exists()
    with pytest.raises(ApplicationError) as error:
        run_assign_by_coordinator(
            occurrence=world.occurrence, driver=world.drivers[1], actor=world.coordinator
        )
    assert error.value.code == "no_car_needed"
    for person in [*world.residents[3:], world.managed]:  # now 7 seats: a second car
        signup_create(actor=world.coordinator, occurrence=world.occurrence, passenger=person)
    run_assign_by_coordinator(
        occurrence=world.occurrence, driver=world.drivers[1], actor=world.coordinator
    )
    assert RunVehicle.objects.filter(occurrence=world.occurrence).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_drivers_taking_the_one_car_needed_at_once_one_gets_it(settings):
    settings.ROUTER_URL = ""
    world = make_world()
    sign_up_everyone(world, 2)
    offers = run_offer_drivers(occurrence_id=world.occurrence.pk)
    barrier = threading.Barrier(2)
    outcomes = {}

    def accept(offer):
        try:
            barrier.wait(timeout=10)
            run_offer_accept(offer_id=offer.pk, actor=offer.driver.membership.user)
            outcomes[offer.pk] = "car"
        except ApplicationError as error:
            outcomes[offer.pk] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(offer,)) for offer in offers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) in (["car", "no_car_needed"], ["car", "run_offer_closed"])
    assert RunVehicle.objects.filter(occurrence=world.occurrence).count() == 1

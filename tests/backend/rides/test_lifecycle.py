import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from backend.errors import ApplicationError
from backend.notifications.models import Reminder
from backend.rides.models import RideEvent, RideRequest, RideState
from backend.rides.services import (
    ride_assign,
    ride_cancel,
    ride_complete,
    ride_driver_withdraw,
    ride_no_show,
    ride_pick_up,
    ride_start,
)
from tests.factories import DriverProfileFactory, RideRequestFactory, UserFactory, next_weekday_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def ride(rider, association):
    # A week after next Monday: the day-before reminders are always still ahead, whatever
    # day and hour the tests run.
    monday = next_weekday_at(0, 10) + timedelta(days=7)
    return RideRequestFactory(
        rider=rider,
        association=association,
        village=association.villages.get(),
        earliest_pickup=monday,
        latest_pickup=monday,
    )


def accepted(ride, driver):
    return ride_assign(
        ride=ride, driver=driver, pickup_at=ride.earliest_pickup, actor=driver.membership.user
    )


def test_the_whole_way_records_every_step(ride, driver, rider):
    user = driver.membership.user
    ride = accepted(ride, driver)
    assert (ride.state, ride.driver, ride.planned_pickup) == (
        "accepted",
        driver,
        ride.earliest_pickup,
    )
    ride = ride_start(ride=ride, actor=user)
    ride = ride_pick_up(ride=ride, actor=user)
    ride = ride_complete(ride=ride, actor=user, driven_m=12_400)
    assert (ride.state, ride.driven_m) == (RideState.COMPLETED, 12_400)
    assert list(ride.events.values_list("from_state", "to_state", "actor")) == [
        ("offering", "accepted", user.pk),
        ("accepted", "en_route", user.pk),
        ("en_route", "picked_up", user.pk),
        ("picked_up", "completed", user.pk),
    ]
    kinds = list(rider.notifications.order_by("id").values_list("kind", flat=True))
    assert kinds == ["ride.accepted", "ride.en_route"]


def test_acceptance_tells_the_rider_who_drives_and_schedules_reminders_for_both(
    ride, driver, rider
):
    accepted(ride, driver)
    told = rider.notifications.get(kind="ride.accepted")
    assert told.payload["driver"] == "Erik Olsson"
    assert told.payload["car"] == "Röd Volvo V70"
    keys = set(Reminder.objects.values_list("key", flat=True))
    assert keys == {f"ride:{ride.pk}:day-before:rider", f"ride:{ride.pk}:day-before:driver"}
    assert Reminder.objects.get(key__endswith="driver").due_at == ride.earliest_pickup - timedelta(
        days=1
    )


def test_completion_without_a_reading_uses_the_estimate(ride, driver):
    user = driver.membership.user
    ride = ride_pick_up(ride=accepted(ride, driver), actor=user)
    assert ride_complete(ride=ride, actor=user).driven_m == ride.distance_m


@pytest.mark.parametrize(
    ("step", "from_state"),
    [
        (ride_start, "offering"),
        (ride_pick_up, "offering"),
        (ride_complete, "accepted"),
        (ride_start, "completed"),
    ],
    ids=["start-before-accept", "pickup-before-accept", "complete-before-pickup", "restart-done"],
)
def test_transitions_only_from_their_states(ride, driver, step, from_state):
    user = driver.membership.user
    if from_state != "offering":
        ride = accepted(ride, driver)
    if from_state == "completed":
        ride = ride_complete(ride=ride_pick_up(ride=ride, actor=user), actor=user)
    before = ride.events.count()
    with pytest.raises(ApplicationError) as refused:
        step(ride=ride, actor=user)
    assert refused.value.code in ("ride_wrong_state", "not_driver")
    assert ride.events.count() == before
    ride.refresh_from_db()
    assert ride.state == from_state


def test_only_the_driver_moves_the_ride(ride, driver, rider):
    ride = accepted(ride, driver)
    other = DriverProfileFactory(membership__association=ride.association)
    for actor in (rider, other.membership.user):
        with pytest.raises(ApplicationError) as refused:
            ride_start(ride=ride, actor=actor)
        assert refused.value.code == "not_driver"


def test_the_second_acceptance_loses(ride, driver):
    accepted(ride, driver)
    other = DriverProfileFactory(membership__association=ride.association)
    with pytest.raises(ApplicationError) as refused:
        accepted(RideRequest.objects.get(pk=ride.pk), other)
    assert refused.value.code == "ride_already_accepted"
    ride.refresh_from_db()
    assert ride.driver == driver


def test_a_driver_cannot_hold_two_rides_at_the_same_time(ride, driver, rider, association):
    accepted(ride, driver)
    overlapping = RideRequestFactory(
        rider=rider,
        association=association,
        earliest_pickup=ride.earliest_pickup + timedelta(minutes=10),
    )
    with pytest.raises(ApplicationError) as refused:
        accepted(overlapping, driver)
    assert refused.value.code == "driver_busy"
    overlapping.refresh_from_db()
    assert (overlapping.state, overlapping.driver) == ("offering", None)


def test_database_refuses_overlapping_held_rides_of_one_driver(ride, driver, association, rider):
    start = next_weekday_at(2, 10)
    RideRequestFactory(
        rider=rider,
        association=association,
        state="accepted",
        driver=driver,
        busy=DateTimeTZRange(start, start + timedelta(hours=1)),
    )
    with pytest.raises(IntegrityError, match="ride_driver_no_overlap"), transaction.atomic():
        RideRequestFactory(
            rider=rider,
            association=association,
            state="accepted",
            driver=driver,
            busy=DateTimeTZRange(start + timedelta(minutes=30), start + timedelta(hours=2)),
        )


def test_database_refuses_an_accepted_ride_without_a_driver(association, rider):
    with pytest.raises(IntegrityError, match="ride_held_has_driver"), transaction.atomic():
        RideRequestFactory(rider=rider, association=association, state="accepted")


def test_passenger_side_cancellation_tells_the_driver_and_drops_reminders(ride, driver, rider):
    ride = accepted(ride, driver)
    ride = ride_cancel(ride=ride, actor=rider, reason="Sjuk")
    assert (ride.state, ride.busy) == (RideState.CANCELLED, None)
    told = driver.membership.user.notifications.get(kind="ride.cancelled")
    assert (told.urgent, told.payload["reason"]) == (True, "Sjuk")
    assert Reminder.objects.filter(cancelled_at__isnull=False).count() == 2
    assert RideEvent.objects.filter(ride=ride, to_state="cancelled").get().reason == "Sjuk"


def test_a_stranger_cannot_cancel(ride):
    with pytest.raises(ApplicationError):
        ride_cancel(ride=ride, actor=UserFactory(), reason="x")
    ride.refresh_from_db()
    assert ride.state == "offering"


def test_driver_withdrawal_puts_the_ride_back_and_frees_the_driver(ride, driver, rider):
    ride = accepted(ride, driver)
    with pytest.raises(ApplicationError) as refused:
        ride_driver_withdraw(ride=ride, actor=driver.membership.user, reason=" ")
    assert refused.value.code == "reason_missing"
    ride = ride_driver_withdraw(
        ride=ride, actor=driver.membership.user, reason="Bilen startar inte"
    )
    assert (ride.state, ride.driver, ride.busy) == (RideState.REQUESTED, None, None)
    assert rider.notifications.filter(kind="ride.driver_withdrew").exists()


def test_no_show_closes_the_ride(ride, driver):
    ride = ride_no_show(
        ride=accepted(ride, driver), actor=driver.membership.user, reason="Ingen hemma"
    )
    assert ride.state == RideState.NO_SHOW
    assert ride.closed_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_drivers_accepting_at_the_same_instant_one_wins(association, rider):
    ride = RideRequestFactory(rider=rider, association=association)
    drivers = [DriverProfileFactory(membership__association=association) for _ in range(2)]
    outcomes, barrier = [], threading.Barrier(2)

    def take(driver):
        try:
            barrier.wait()
            accepted(RideRequest.objects.get(pk=ride.pk), driver)
            outcomes.append("won")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(d,)) for d in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ride_already_accepted", "won"]
    ride.refresh_from_db()
    assert ride.driver in drivers
    assert ride.events.filter(to_state="accepted").count() == 1

import threading
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone, translation

from backend.errors import ApplicationError
from backend.notifications.models import Reminder
from backend.rides.models import RideEvent, RideRequest, RideState
from backend.rides.services import (
    driven_m_max,
    ride_assign,
    ride_cancel,
    ride_complete,
    ride_driver_withdraw,
    ride_no_show,
    ride_pick_up,
    ride_start,
)
from tests.factories import (
    DriverProfileFactory,
    RideRequestFactory,
    UserFactory,
    next_weekday_at,
    ride_due,
)

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
    ride = ride_due(ride, minutes=60)
    ride = ride_start(ride=ride, actor=user)
    ride = ride_due(ride)
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
    ride = ride_pick_up(ride=ride_due(accepted(ride, driver)), actor=user)
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
        ride = ride_complete(ride=ride_pick_up(ride=ride_due(ride), actor=user), actor=user)
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


def test_no_show_closes_the_ride_and_tells_the_rider(ride, driver, rider):
    ride = ride_due(accepted(ride, driver), minutes=-5)
    ride = ride_no_show(ride=ride, actor=driver.membership.user, reason="Ingen hemma")
    assert ride.state == RideState.NO_SHOW
    assert ride.closed_at is not None
    told = rider.notifications.get(kind="ride.no_show")
    assert (told.payload["ride"], told.payload["driver"]) == (
        ride.pk,
        driver.membership.user.full_name,
    )


@pytest.mark.parametrize("minutes_ahead", [24 * 60, 1])
def test_no_show_is_refused_before_the_pickup_time(ride, driver, rider, minutes_ahead):
    ride = ride_due(accepted(ride, driver), minutes=minutes_ahead)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        ride_no_show(ride=ride, actor=driver.membership.user, reason="Ingen hemma")
    assert refused.value.code == "ride_too_early"
    assert "you can say the passenger did not come from" in str(refused.value.message)
    ride.refresh_from_db()
    assert (ride.state, ride.closed_at) == (RideState.ACCEPTED, None)
    assert not rider.notifications.filter(kind="ride.no_show").exists()


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


# --- Not before the ride, and not more kilometres than it can take ------------------------


def test_the_refusal_names_the_day_of_the_ride_and_when_the_driver_can_set_off(ride, driver):
    ride = accepted(ride, driver)
    monday = timezone.localtime(ride.planned_pickup)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        ride_start(ride=ride, actor=driver.membership.user)
    assert (refused.value.code, refused.value.kind) == ("ride_too_early", "conflict")
    assert str(refused.value.message) == (
        f"This ride starts at 10:00 on Monday {monday.day} {monday:%B}; "
        "you can say you are on your way from 08:00."
    )


@pytest.mark.parametrize(
    ("minutes_ahead", "allowed"),
    [(180, False), (121, False), (119, True), (0, True)],
    ids=["three-hours-before", "just-over-two-hours", "just-under-two-hours", "at-pickup"],
)
def test_a_driver_sets_off_at_most_two_hours_before_the_pickup(
    ride, driver, minutes_ahead, allowed
):
    ride = ride_due(accepted(ride, driver), minutes=minutes_ahead)
    before = ride.events.count()
    if allowed:
        assert ride_start(ride=ride, actor=driver.membership.user).state == RideState.EN_ROUTE
        return
    with pytest.raises(ApplicationError) as refused:
        ride_start(ride=ride, actor=driver.membership.user)
    assert refused.value.code == "ride_too_early"
    ride.refresh_from_db()
    assert (ride.state, ride.events.count()) == (RideState.ACCEPTED, before)
    assert not ride.rider.notifications.filter(kind="ride.en_route").exists()


def test_the_limits_are_settings(ride, driver, settings):
    settings.RIDES_START_EARLY_MINUTES = 240
    ride = ride_due(accepted(ride, driver), minutes=180)
    assert ride_start(ride=ride, actor=driver.membership.user).state == RideState.EN_ROUTE


def test_picked_up_and_completed_are_refused_long_before_the_pickup(ride, driver):
    user = driver.membership.user
    ride = ride_start(ride=ride_due(accepted(ride, driver), minutes=60), actor=user)
    with pytest.raises(ApplicationError) as refused:
        ride_pick_up(ride=ride, actor=user)
    assert refused.value.code == "ride_too_early"
    ride.refresh_from_db()
    assert ride.state == RideState.EN_ROUTE
    # A passenger ready a little early is normal.
    ride = ride_pick_up(ride=ride_due(ride, minutes=25), actor=user)
    assert ride.state == RideState.PICKED_UP
    # A ride already on board (picked up before this rule) is still not done before its day.
    ride = ride_due(ride, minutes=24 * 60)
    with pytest.raises(ApplicationError) as refused:
        ride_complete(ride=ride, actor=user, driven_m=12_000)
    assert refused.value.code == "ride_too_early"
    ride.refresh_from_db()
    assert (ride.state, ride.driven_m, ride.closed_at) == (RideState.PICKED_UP, None, None)


def picked_up(ride, driver):
    user = driver.membership.user
    return ride_pick_up(ride=ride_due(accepted(ride, driver)), actor=user)


def test_a_claim_beyond_what_the_ride_can_take_without_saying_why_is_refused(ride, driver):
    # Home at the pickup, a 20 km service radius and an 11 km trip: at most
    # 1.25 x (2 x 20 + 2 x 11) = 77.5 km, in whole kilometres 77. (With a reason, the rest
    # goes to a coordinator: tests/backend/rides/test_mileage_claims.py.)
    ride = picked_up(ride, driver)
    assert driven_m_max(ride) == 77_000
    for claimed in (1_000_000, 77_001):
        with translation.override("en"), pytest.raises(ApplicationError) as refused:
            ride_complete(ride=ride, actor=driver.membership.user, driven_m=claimed)
        assert refused.value.code == "driven_too_far"
        assert str(refused.value.message) == (
            "You can claim at most 77 km for this ride without a coordinator's approval "
            "(from your home to the pickup, the trip, and back). If you really drove "
            "further, say why (a detour, a closed road) and a coordinator will look at it."
        )
        assert refused.value.fields == {"explanation": [refused.value.message]}
        ride.refresh_from_db()
        assert (ride.state, ride.driven_m) == (RideState.PICKED_UP, None)
    ride = ride_complete(ride=ride, actor=driver.membership.user, driven_m=77_000)
    assert (ride.state, ride.driven_m) == (RideState.COMPLETED, 77_000)


def test_a_driver_from_further_than_their_radius_can_claim_the_way_from_home(ride, association):
    # Given the ride by a coordinator from about 33 km away (road 1.3 x geodesic, about
    # 43 km): 1.25 x (2 x 43 + 2 x 11) km is about 135 km.
    far = DriverProfileFactory(
        membership__association=association,
        service_radius_m=5_000,
        home_base=Point(14.82, 60.5, srid=4326),
    )
    ride = picked_up(ride, far)
    assert 130_000 < driven_m_max(ride) < 140_000
    ride = ride_complete(ride=ride, actor=far.membership.user, driven_m=125_000)
    assert ride.driven_m == 125_000


def test_without_a_trip_estimate_only_the_absolute_cap_applies(ride, driver):
    RideRequest.objects.filter(pk=ride.pk).update(distance_m=0)
    ride.refresh_from_db()
    ride = ride_complete(
        ride=picked_up(ride, driver), actor=driver.membership.user, driven_m=500_000
    )
    assert ride.driven_m == 500_000

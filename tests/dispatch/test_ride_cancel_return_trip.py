"""Cancelling a ride that has a return trip: the return trip goes with it when asked
(both or neither), and stays booked when not. Each person is told once: the rider's side
and a driver who holds both get one message naming both times."""

import pytest
from django.utils import translation

from backend.errors import ApplicationError
from backend.notifications.kinds import times_in_words
from backend.notifications.models import Notification
from backend.notifications.selectors import notification_message
from backend.rides.models import Offer, OfferState, RideEvent, RideRequest, RideState
from backend.rides.services import local_time, ride_assign, ride_cancel_with_return
from dispatch.services import ride_cancel
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    DriverProfileFactory,
    RideRequestFactory,
    UserFactory,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def trip(rider, association):
    """There at 10:00, offered to one driver; back at 14:00, offered to another."""
    there = RideRequestFactory(
        rider=rider, association=association, earliest_pickup=next_weekday_at(0, 10)
    )
    back = RideRequestFactory(
        rider=rider,
        association=association,
        pickup=DALA_JARNA,
        destination=VANSBRO,
        earliest_pickup=next_weekday_at(0, 14),
        return_of=there,
    )
    for ride in (there, back):
        offered = DriverProfileFactory(membership__association=association)
        Offer.objects.create(
            ride=ride,
            driver=offered,
            wave=1,
            rank=1,
            distance_m=1_000,
            pickup_at=ride.earliest_pickup,
        )
    return there, back


def _states(*rides: RideRequest) -> list[str]:
    return [RideRequest.objects.get(pk=ride.pk).state for ride in rides]


def test_asked_the_return_trip_is_cancelled_too_and_its_offers_withdrawn(trip, rider):
    there, back = trip
    ride = ride_cancel(ride=there, actor=rider, reason="Sjuk", with_return=True)
    assert ride.state == RideState.CANCELLED
    assert _states(there, back) == [RideState.CANCELLED, RideState.CANCELLED]
    assert list(Offer.objects.values_list("state", flat=True)) == [OfferState.WITHDRAWN] * 2
    assert list(
        RideEvent.objects.filter(to_state="cancelled")
        .order_by("ride_id")
        .values_list("ride_id", "actor", "reason")
    ) == [(there.pk, rider.pk, "Sjuk"), (back.pk, rider.pk, "Sjuk")]


def test_the_return_trips_driver_is_told_as_for_any_cancellation(trip, rider, driver):
    there, back = trip
    back = ride_assign(
        ride=back, driver=driver, pickup_at=back.earliest_pickup, actor=driver.membership.user
    )
    ride_cancel(ride=there, actor=rider, reason="Sjuk", with_return=True)
    told = driver.membership.user.notifications.get(kind="ride.cancelled")
    assert told.urgent
    assert told.payload["reason"] == "Sjuk"
    back.refresh_from_db()
    assert (back.state, back.busy) == (RideState.CANCELLED, None)


def test_not_asked_the_return_trip_stays_booked(trip, rider):
    there, back = trip
    ride_cancel(ride=there, actor=rider, reason="")
    assert _states(there, back) == [RideState.CANCELLED, RideState.OFFERING]
    assert Offer.objects.get(ride=back).state == OfferState.PENDING


@pytest.mark.parametrize("closed", [RideState.CANCELLED, RideState.UNFULFILLED])
def test_a_return_trip_already_closed_is_left_as_it_is(trip, rider, closed):
    there, back = trip
    RideRequest.objects.filter(pk=back.pk).update(state=closed)
    ride_cancel(ride=there, actor=rider, reason="", with_return=True)
    assert _states(there, back) == [RideState.CANCELLED, closed]
    assert not RideEvent.objects.filter(ride=back).exists()


def test_cancelling_the_return_trip_alone_leaves_the_way_there(trip, rider):
    there, back = trip
    ride_cancel(ride=back, actor=rider, reason="", with_return=True)
    assert _states(there, back) == [RideState.OFFERING, RideState.CANCELLED]


@pytest.mark.parametrize("who", ["stranger", "ride already closed"])
def test_when_the_ride_cannot_be_cancelled_neither_is_the_return_trip(trip, rider, who):
    there, back = trip
    actor = rider
    if who == "stranger":
        actor = UserFactory()
    else:
        RideRequest.objects.filter(pk=there.pk).update(state=RideState.UNFULFILLED)
    there.refresh_from_db()
    with pytest.raises(ApplicationError):
        ride_cancel(ride=there, actor=actor, reason="", with_return=True)
    assert _states(back) == [RideState.OFFERING]
    assert Offer.objects.get(ride=back).state == OfferState.PENDING
    assert not RideEvent.objects.exists()


# --- Who is told: once each, naming both rides -------------------------------------------


def _told(person, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=person, kind=kind))


def _held_by(ride: RideRequest, driver) -> RideRequest:
    return ride_assign(
        ride=ride, driver=driver, pickup_at=ride.earliest_pickup, actor=driver.membership.user
    )


def _body(notification: Notification, language: str) -> str:
    return notification_message(notification, language=language)["body"]


def _day(moment) -> str:
    """The ride's time as messages name it in English ("Monday 3 December 10:00")."""
    with translation.override("en"):
        return times_in_words(local_time(moment))


def test_a_coordinator_cancelling_both_tells_the_rider_once_naming_both(trip, rider, coordinator):
    there, back = trip
    ride_cancel(ride=there, actor=coordinator, reason="Sjuk", with_return=True)
    [told] = _told(rider, "ride.cancelled_by_association")
    assert told.payload == {
        "when": local_time(there.earliest_pickup),
        "return_when": local_time(back.earliest_pickup),
        "association": "Västerdalarnas byaskjuts",
        "reason": "Sjuk",
        "ride": there.pk,
    }
    assert _body(told, "en") == (
        f"Västerdalarnas byaskjuts has cancelled your ride {_day(there.earliest_pickup)}"
        " and its return trip at 14:00. Sjuk"
    )
    assert " och returresan kl. 14:00. Sjuk" in _body(told, "sv")
    assert not Notification.objects.filter(recipient=coordinator).exists()


def test_without_the_return_trip_the_rider_is_told_of_the_one_ride(trip, rider, coordinator):
    there, _back = trip
    ride_cancel(ride=there, actor=coordinator, reason="Sjuk")
    [told] = _told(rider, "ride.cancelled_by_association")
    assert "return_when" not in told.payload
    assert _body(told, "en") == (
        f"Västerdalarnas byaskjuts has cancelled your ride {_day(there.earliest_pickup)}. Sjuk"
    )


def test_a_driver_holding_both_is_told_once_naming_both(trip, rider, driver):
    there, back = trip
    there, back = _held_by(there, driver), _held_by(back, driver)
    ride_cancel(ride=there, actor=rider, reason="Sjuk", with_return=True)
    [told] = _told(driver.membership.user, "ride.cancelled")
    assert told.urgent
    assert (told.payload["when"], told.payload["return_when"]) == (
        local_time(there.planned_pickup),
        local_time(back.planned_pickup),
    )
    assert _body(told, "en") == (
        f"The ride {_day(there.planned_pickup)} and its return trip at 14:00 are cancelled. Sjuk"
    )
    # The rider cancelled herself: she is not told.
    assert _told(rider, "ride.cancelled_by_association") == []


def test_two_drivers_are_each_told_about_their_own_ride(trip, rider, coordinator, driver):
    there, back = trip
    other = DriverProfileFactory(membership__association=there.association)
    there, back = _held_by(there, driver), _held_by(back, other)
    ride_cancel(ride=there, actor=coordinator, reason="Sjuk", with_return=True)
    [first] = _told(driver.membership.user, "ride.cancelled")
    [second] = _told(other.membership.user, "ride.cancelled")
    assert "return_when" not in first.payload and "return_when" not in second.payload
    assert _body(first, "en") == f"The ride {_day(there.planned_pickup)} is cancelled. Sjuk"
    assert _body(second, "en") == f"The ride {_day(back.planned_pickup)} is cancelled. Sjuk"
    assert len(_told(rider, "ride.cancelled_by_association")) == 1


def test_a_driver_of_the_return_trip_alone_is_told_about_it_alone(trip, rider, driver):
    there, back = trip
    back = _held_by(back, driver)
    ride_cancel(ride=there, actor=rider, reason="", with_return=True)
    [told] = _told(driver.membership.user, "ride.cancelled")
    assert told.payload["when"] == local_time(back.planned_pickup)
    assert "return_when" not in told.payload


def test_a_return_trip_that_cannot_be_cancelled_leaves_both_and_tells_nobody(
    trip, rider, coordinator, driver
):
    """Both or neither: a return trip closed by someone else after it was looked up (a
    coordinator found no driver for it meanwhile) rolls back the way there too."""
    there, back = trip
    there = _held_by(there, driver)
    before = Notification.objects.count()
    RideRequest.objects.filter(pk=back.pk).update(state=RideState.UNFULFILLED)
    with pytest.raises(ApplicationError) as refused:
        ride_cancel_with_return(ride=there, return_trip=back, actor=coordinator, reason="")
    assert refused.value.code == "ride_wrong_state"
    assert _states(there, back) == [RideState.ACCEPTED, RideState.UNFULFILLED]
    assert not RideEvent.objects.filter(to_state=RideState.CANCELLED).exists()
    assert Notification.objects.count() == before

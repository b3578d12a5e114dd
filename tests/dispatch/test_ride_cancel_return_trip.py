"""Cancelling a ride that has a return trip: the return trip goes with it when asked
(both or neither), and stays booked when not."""

import pytest

from backend.errors import ApplicationError
from backend.rides.models import Offer, OfferState, RideEvent, RideRequest, RideState
from backend.rides.services import ride_assign
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

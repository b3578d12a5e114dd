"""Bo is a member of two associations and rides with a driver of the first. A trip
belongs to its driver's association: that association's coordinator may book and cancel
Bo's seats on it and sees them as his side does; the other association's coordinator
may not, and sees nothing of them. Bo's proxy may everywhere."""

import pytest
from django.utils import timezone, translation

from backend.accounts.models import ProxyLink
from backend.carpool import services
from backend.carpool.models import Booking, BookingState
from backend.carpool.selectors import (
    booking_passenger_side,
    bookings_of_passenger,
    bookings_visible_to,
    seat_cards,
)
from backend.community.selectors import people_actable_scope
from backend.errors import ApplicationError, ErrorKind
from tests.carpool_fixtures import along
from tests.factories import AssociationFactory, MembershipFactory, UserFactory, coordinator_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def departure(publish):
    return publish().occurrences.get()


@pytest.fixture
def coordinator_other(passenger):
    other = AssociationFactory(name="Äppelbo byalag")
    MembershipFactory(user=passenger, association=other)
    return coordinator_of(other)


def book(actor, passenger, departure) -> Booking:
    return services.booking_request(
        actor=actor,
        passenger=passenger,
        occurrence=departure,
        pickup=along(0.1),
        pickup_address="Byvägen 3",
        dropoff=along(0.9),
        dropoff_address="Skolan",
    )


def test_the_other_associations_coordinator_cannot_book_him_a_seat(
    departure, passenger, coordinator_other
):
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        book(coordinator_other, passenger, departure)
    assert (refused.value.code, refused.value.kind) == ("carpool_not_allowed", ErrorKind.FORBIDDEN)
    assert str(refused.value.message) == (
        "You can book seats for Bo Ström only on trips of drivers of an association you "
        "coordinate. Bo Ström, or a relative who helps them, can book this one."
    )
    assert not Booking.objects.exists()


def test_the_other_associations_coordinator_cannot_cancel_nor_see_his_seat(
    departure, passenger, coordinator_other
):
    booking = book(passenger, passenger, departure)
    with pytest.raises(ApplicationError) as refused:
        services.booking_cancel(booking=booking, actor=coordinator_other, reason="")
    assert refused.value.code == "carpool_not_allowed"
    booking.refresh_from_db()
    assert booking.state == BookingState.REQUESTED
    assert not booking_passenger_side(user=coordinator_other, booking=booking)
    assert not bookings_visible_to(user=coordinator_other).exists()
    assert not bookings_of_passenger(actor=coordinator_other).exists()
    people = people_actable_scope(actor=coordinator_other)
    assert seat_cards(actor=coordinator_other, people=people, limit=3) == []


def test_the_trips_coordinator_and_his_proxy_book_and_cancel(
    departure, passenger, coordinator, coordinator_other
):
    daughter = UserFactory()
    ProxyLink.objects.create(proxy=daughter, resident=passenger, accepted_at=timezone.now())
    for actor in (coordinator, daughter):
        booking = book(actor, passenger, departure)
        assert (booking.passenger, booking.booked_by) == (passenger, actor)
        assert booking_passenger_side(user=actor, booking=booking)
        assert booking in bookings_of_passenger(actor=actor)
        cards = seat_cards(actor=actor, people=people_actable_scope(actor=actor), limit=3)
        assert [card["passenger_name"] for card in cards] == ["Bo Ström"]
        cancelled = services.booking_cancel(booking=booking, actor=actor, reason="")
        assert (cancelled.state, cancelled.cancelled_by) == (BookingState.CANCELLED, "passenger")

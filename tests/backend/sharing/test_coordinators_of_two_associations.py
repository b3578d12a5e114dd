"""Anna is a member of two associations. The other association's coordinator books the
first one's car for her, and cancels her booking of it, no more than anyone else may;
the car's own coordinator and Anna's proxy do."""

import pytest
from django.utils import timezone, translation

from backend.accounts.models import ProxyLink
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification
from backend.sharing import services
from backend.sharing.models import Booking, BookingStatus
from tests.factories import MembershipFactory, UserFactory
from tests.sharing_fixtures import wednesday

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(member, other_coordinator):
    """The car's association's member, a member of the other coordinator's too."""
    MembershipFactory(user=member, association=other_coordinator.memberships.get().association)
    return member


def book(actor, car, booker, hour: int) -> Booking:
    return services.booking_request(
        actor=actor,
        resource=car,
        booker=booker,
        starts_at=wednesday(hour),
        ends_at=wednesday(hour + 1),
    )


def test_the_other_associations_coordinator_cannot_book_the_car_for_her(
    car, anna, other_coordinator
):
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        book(other_coordinator, car, anna, 10)
    assert (refused.value.code, refused.value.kind) == ("booking_not_allowed", ErrorKind.FORBIDDEN)
    assert str(refused.value.message) == (
        "You can book for Anna Berg only the things of an association you coordinate. Ask "
        "Västerdalarnas byaskjuts to book Byabilen."
    )
    assert not Booking.objects.exists()


def test_the_other_associations_coordinator_cannot_cancel_her_booking(car, anna, other_coordinator):
    booking = book(anna, car, anna, 10)
    before = Notification.objects.count()
    with pytest.raises(ApplicationError) as refused:
        services.booking_cancel(actor=other_coordinator, booking=booking)
    assert refused.value.code == "booking_not_allowed"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert Notification.objects.count() == before


def test_the_cars_coordinator_and_her_proxy_book_and_cancel(car, anna, coordinator):
    daughter = UserFactory()
    ProxyLink.objects.create(proxy=daughter, resident=anna, accepted_at=timezone.now())
    for hour, actor in ((10, coordinator), (13, daughter)):
        booking = book(actor, car, anna, hour)
        assert (booking.booker, booking.booked_by) == (anna, actor)
        cancelled = services.booking_cancel(actor=actor, booking=booking)
        assert cancelled.status == BookingStatus.CANCELLED

"""Ingrid is a member of two associations, A and B, and rides with both. Each one's
coordinator books, sees and cancels her rides with their own association only; her
daughter, her proxy, does so with both."""

from dataclasses import dataclass

import pytest
from django.utils import timezone, translation

from backend.accounts.models import ProxyLink, User
from backend.community.models import Association
from backend.community.selectors import people_actable_scope
from backend.errors import ApplicationError, ErrorKind
from backend.rides.models import RideEvent, RiderApproval, RideRequest, RideState
from backend.rides.selectors import (
    RideView,
    ride_cards_of_riders,
    ride_count_of_riders,
    ride_rows_of_riders,
    ride_view_for,
    rides_of_rider,
    rides_visible_to,
)
from backend.rides.services import RideTime, ride_cancel, ride_request_create
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
    coordinator_of,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db


@dataclass
class Two:
    a: Association
    b: Association
    rider: User
    coordinator_a: User
    coordinator_b: User
    daughter: User
    ride_a: RideRequest
    ride_b: RideRequest


@pytest.fixture
def two(association, coordinator, rider) -> Two:
    """`association` (A) approved Ingrid for rides; so did B, in the same municipality."""
    b = AssociationFactory(name="Äppelbo byalag", municipality=association.municipality)
    b.villages.add(VillageFactory(name="Äppelbo", municipality=b.municipality, location=VANSBRO))
    coordinator_b = coordinator_of(b)
    RiderApproval.objects.create(
        membership=MembershipFactory(association=b, user=rider), approved_by=coordinator_b
    )
    daughter = UserFactory(full_name="Lena Svensson")
    ProxyLink.objects.create(proxy=daughter, resident=rider, accepted_at=timezone.now())
    return Two(
        a=association,
        b=b,
        rider=rider,
        coordinator_a=coordinator,
        coordinator_b=coordinator_b,
        daughter=daughter,
        ride_a=RideRequestFactory(rider=rider, association=association),
        ride_b=RideRequestFactory(
            rider=rider, association=b, earliest_pickup=next_weekday_at(1, 10)
        ),
    )


def book(two: Two, actor: User, association: Association, hour: int) -> RideRequest:
    return ride_request_create(
        requested_by=actor,
        rider=two.rider,
        association=association,
        pickup=VANSBRO,
        pickup_address="Järnvägsgatan 4, Vansbro",
        destination=DALA_JARNA,
        destination_address="Vårdcentralen, Dala-Järna",
        when=RideTime(kind="pickup_at", at=next_weekday_at(3, hour)),
    )


def test_the_other_associations_coordinator_cannot_book_with_a(two):
    before = RideRequest.objects.count()
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        book(two, two.coordinator_b, two.a, 9)
    assert (refused.value.code, refused.value.kind) == ("ride_not_allowed", ErrorKind.FORBIDDEN)
    assert str(refused.value.message) == (
        "You can book rides for Ingrid Svensson only with an association you coordinate: "
        "choose it, or ask Västerdalarnas byaskjuts to book this ride."
    )
    with translation.override("sv"), pytest.raises(ApplicationError) as refused:
        book(two, two.coordinator_b, two.a, 9)
    assert str(refused.value.message) == (
        "Du kan boka resor åt Ingrid Svensson bara med en förening som du samordnar: välj "
        "den, eller be Västerdalarnas byaskjuts boka resan."
    )
    assert RideRequest.objects.count() == before


def test_each_coordinator_books_with_their_own_and_the_daughter_with_both(two):
    booked = [
        book(two, two.coordinator_b, two.b, 9),
        book(two, two.coordinator_a, two.a, 11),
        book(two, two.daughter, two.a, 13),
        book(two, two.daughter, two.b, 15),
    ]
    assert [(ride.association, ride.requested_by) for ride in booked] == [
        (two.b, two.coordinator_b),
        (two.a, two.coordinator_a),
        (two.a, two.daughter),
        (two.b, two.daughter),
    ]


def test_someone_who_acts_for_her_nowhere_gets_the_plain_refusal(two):
    with translation.override("en"):
        with pytest.raises(ApplicationError) as refused:
            book(two, UserFactory(), two.a, 9)
        assert str(refused.value.message) == "You cannot book rides for this person."


def test_the_other_associations_coordinator_cannot_cancel_her_ride_with_a(two):
    with pytest.raises(ApplicationError) as refused:
        ride_cancel(ride=two.ride_a, actor=two.coordinator_b, reason="Sjuk")
    assert (refused.value.code, refused.value.kind) == ("ride_not_allowed", ErrorKind.FORBIDDEN)
    two.ride_a.refresh_from_db()
    assert two.ride_a.state == RideState.OFFERING
    assert not RideEvent.objects.exists()
    assert not two.rider.notifications.exists()


@pytest.mark.parametrize(
    ("actor", "ride"),
    [
        pytest.param("coordinator_a", "ride_a", id="coordinator-of-a-with-a"),
        pytest.param("coordinator_b", "ride_b", id="coordinator-of-b-with-b"),
        pytest.param("daughter", "ride_a", id="proxy-with-a"),
        pytest.param("daughter", "ride_b", id="proxy-with-b"),
    ],
)
def test_her_own_associations_coordinator_and_her_daughter_cancel(two, actor, ride):
    cancelled = ride_cancel(ride=getattr(two, ride), actor=getattr(two, actor), reason="Sjuk")
    assert cancelled.state == RideState.CANCELLED
    assert RideEvent.objects.get(ride=cancelled).actor == getattr(two, actor)


def test_each_coordinator_sees_her_rides_with_their_own_association_only(two):
    def visible(user):
        return set(rides_visible_to(user=user).values_list("pk", flat=True))

    assert visible(two.coordinator_a) == {two.ride_a.pk}
    assert visible(two.coordinator_b) == {two.ride_b.pk}
    assert visible(two.daughter) == visible(two.rider) == {two.ride_a.pk, two.ride_b.pk}
    assert ride_view_for(viewer=two.coordinator_b, ride=two.ride_a) is None
    assert ride_view_for(viewer=two.coordinator_a, ride=two.ride_b) is None
    assert ride_view_for(viewer=two.coordinator_a, ride=two.ride_a) == RideView.FULL
    assert ride_view_for(viewer=two.coordinator_b, ride=two.ride_b) == RideView.FULL
    for ride in (two.ride_a, two.ride_b):
        assert ride_view_for(viewer=two.daughter, ride=ride) == RideView.FULL


def test_the_lists_of_people_i_book_for_keep_to_my_association(two):
    """My rides and those of the people I book for, in the ORM and in SQL (cards, rows,
    count): a coordinator's list has the members' rides with their association only."""
    expected = {
        two.coordinator_a: [two.ride_a.pk],
        two.coordinator_b: [two.ride_b.pk],
        two.daughter: [two.ride_b.pk, two.ride_a.pk],
        two.rider: [two.ride_b.pk, two.ride_a.pk],
    }
    for actor, rides in expected.items():
        people = people_actable_scope(actor=actor)
        assert list(rides_of_rider(actor=actor).values_list("pk", flat=True)) == rides
        rows = ride_rows_of_riders(people=people, offset=0, limit=10)
        assert [row["id"] for row in rows] == rides
        assert ride_count_of_riders(people=people) == len(rides)
        cards = ride_cards_of_riders(people=people, closed=False, limit=10)
        assert sorted(card["pk"] for card in cards) == sorted(rides)

"""Anna rides with association A and is a member of B too. B's coordinator books for
her, sees and cancels her rides with B on the web pages, never those with A: the start
page, my rides, the ride page and its cancelling keep to B; A's coordinator and Anna's
daughter keep what they had."""

import pytest
from django.test import Client

from backend.community.models import Membership
from backend.rides.models import RideRequest, RideState
from tests.factories import MembershipFactory, RideRequestFactory, next_weekday_at
from tests.webapp.conftest import snapshot
from tests.webapp.test_ride_pages import NEW, form

pytestmark = pytest.mark.django_db


@pytest.fixture
def ride_b(world) -> RideRequest:
    """Anna, a member of B too, with a ride booked with B."""
    b = Membership.objects.get(user=world.people["coordinator_elsewhere"]).association
    MembershipFactory(user=world.people["rider"], association=b)
    return RideRequestFactory(
        rider=world.people["rider"], association=b, earliest_pickup=next_weekday_at(3, 9)
    )


def links(world, role: str, path: str) -> set[int]:
    """The rides of `rides` linked from the page at `path`, by pk."""
    page = world.client(role).get(path).content.decode()
    rides = [world.open, world.held, *RideRequest.objects.exclude(association=world.a)]
    return {ride.pk for ride in rides if f'href="/rides/{ride.pk}/"' in page}


@pytest.mark.parametrize("path", ["/", "/rides/"])
def test_each_coordinator_lists_her_rides_with_their_own_association(world, ride_b, path):
    assert links(world, "coordinator_elsewhere", path) == {ride_b.pk}
    assert links(world, "coordinator", path) == {world.open.pk, world.held.pk}
    assert links(world, "proxy", path) == {world.open.pk, world.held.pk, ride_b.pk}


def test_bs_coordinator_cannot_open_or_cancel_her_ride_with_a(world, ride_b):
    client = world.client("coordinator_elsewhere")
    before = snapshot()
    assert client.get(f"/rides/{world.held.pk}/").status_code == 404
    assert client.get(f"/rides/{world.held.pk}/cancel").status_code == 404
    assert client.post(f"/rides/{world.held.pk}/cancel", {"reason": "Sjuk"}).status_code == 404
    assert snapshot() == before
    assert world.client("coordinator").get(f"/rides/{ride_b.pk}/").status_code == 404

    assert client.get(f"/rides/{ride_b.pk}/").status_code == 200
    response = client.post(f"/rides/{ride_b.pk}/cancel", {"reason": "Sjuk"})
    assert response.status_code == 302
    ride_b.refresh_from_db()
    assert ride_b.state == RideState.CANCELLED


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "en",
            "You can book rides for Anna Eriksson only with an association you coordinate: "
            "choose it, or ask Äppelbo byalag to book this ride.",
        ),
        (
            "sv",
            "Du kan boka resor åt Anna Eriksson bara med en förening som du samordnar: välj "
            "den, eller be Äppelbo byalag boka resan.",
        ),
    ],
)
def test_bs_coordinator_booking_her_a_ride_with_a_is_told_what_to_do(world, ride_b, language, text):
    """Anna is approved for rides by A only, so the form books with A: refused."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(world.people["coordinator_elsewhere"])
    before = snapshot()
    response = client.post(NEW, form(rider=world.people["rider"].pk))
    assert response.status_code == 400
    assert text in response.content.decode()
    assert snapshot() == before

"""The booking forms start from the rider's home and offer the places of their earlier
rides; a place chosen from them keeps its point, so it books with no geocoder at all
(this world has none: GEOCODER_URL is empty)."""

import re

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.privacy.erase import rides_forget_places
from backend.rides.models import RideRequest
from backend.rides.places import known_places_of
from tests.factories import AssociationFactory, RideRequestFactory, next_weekday_at
from tests.webapp.conftest import snapshot

pytestmark = pytest.mark.django_db

NEW = "/rides/new"
HOME = "Storgatan 3, Vansbro"
HOME_POINT = Point(14.2301, 60.5102, srid=4326)
# The world's rides go to the factory's destination.
CLINIC = "Vårdcentralen, Dala-Järna"


@pytest.fixture
def at_home(world):
    rider = world.people["rider"]
    rider.home_address, rider.home_location = HOME, HOME_POINT
    rider.save(update_fields=["home_address", "home_location"])
    return world


def field_value(page: str, name: str) -> str:
    [tag] = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def options(page: str) -> list[tuple[str, str]]:
    [datalist] = re.findall(r'<datalist id="known-places">(.*?)</datalist>', page, re.S)
    return re.findall(r'<option value="([^"]*)">([^<]*)</option>', datalist)


def form(rider, **changes) -> dict:
    values = {
        "rider": rider.pk,
        "pickup_address": HOME,
        "destination_address": CLINIC,
        "time_kind": "pickup_at",
        "at": timezone.localtime(next_weekday_at(3, 14)).strftime("%Y-%m-%dT%H:%M"),
        "passengers": "1",
    }
    return values | changes


def test_the_pickup_starts_at_home_and_the_earlier_places_are_offered(at_home):
    page = at_home.client("rider").get(NEW).content.decode()
    assert field_value(page, "pickup_address") == HOME
    assert 'list="known-places"' in page
    assert options(page) == [(HOME, "home"), (CLINIC, ""), ("Järnvägsgatan 4, Vansbro", "")]
    # The buttons the page's script shows carry each place's point.
    assert 'data-address="Storgatan 3, Vansbro" data-lon="14.230100" data-lat="60.510200"' in page


def test_without_a_home_on_the_map_the_pickup_starts_empty(world):
    page = world.client("rider").get(NEW).content.decode()
    assert field_value(page, "pickup_address") == ""
    assert (HOME, "home") not in options(page)


def test_booking_from_home_to_an_earlier_place_needs_no_geocoder(at_home):
    rider = at_home.people["rider"]
    # Typed as people type: other case, extra spaces.
    response = at_home.client("rider").post(
        NEW, form(rider, pickup_address="storgatan 3,  Vansbro", destination_address=CLINIC)
    )
    assert response.status_code == 302
    ride = RideRequest.objects.latest("pk")
    assert (ride.pickup.x, ride.pickup.y) == (HOME_POINT.x, HOME_POINT.y)
    assert (ride.destination.x, ride.destination.y) == (14.36667, 60.53333)
    assert ride.pickup_address == "storgatan 3,  Vansbro"


def test_an_address_that_is_not_known_still_needs_the_geocoder(at_home):
    rider = at_home.people["rider"]
    before = snapshot()
    response = at_home.client("rider").post(
        NEW, form(rider, destination_address="Kyrkvägen 9, Äppelbo")
    )
    assert response.status_code == 400
    assert "Pick the place on the map" in response.content.decode()
    assert snapshot() == before


def test_a_proxy_is_offered_her_mothers_places_under_her_name(at_home):
    page = at_home.client("proxy").get(NEW).content.decode()
    assert (HOME, "Anna Eriksson: home") in options(page)
    assert (CLINIC, "Anna Eriksson") in options(page)
    # Her own home is not on the map: the pickup starts empty, for her to choose.
    assert field_value(page, "pickup_address") == ""


def test_a_proxy_books_for_her_mother_from_her_mothers_home(at_home):
    rider = at_home.people["rider"]
    response = at_home.client("proxy").post(NEW, form(rider))
    assert response.status_code == 302
    ride = RideRequest.objects.latest("pk")
    assert (ride.rider, ride.requested_by) == (rider, at_home.people["proxy"])
    assert (ride.pickup.x, ride.pickup.y) == (HOME_POINT.x, HOME_POINT.y)


def test_a_coordinator_on_the_residents_page_is_not_offered_the_members_places(at_home):
    page = at_home.client("coordinator").get(NEW).content.decode()
    assert HOME not in page
    assert options(page) == []


def test_the_callers_page_in_the_console_starts_at_their_home(at_home):
    rider = at_home.people["rider"]
    elsewhere = AssociationFactory(name="Järna idrottsförening")
    RideRequestFactory(rider=rider, association=elsewhere, destination_address="Tandläkaren")
    page = at_home.client("coordinator").get(f"/console/phone/{rider.pk}/").content.decode()
    assert field_value(page, "pickup_address") == HOME
    assert (HOME, "home") in options(page)
    assert (CLINIC, "") in options(page)
    # A ride with another association is not this coordinator's to see.
    assert "Tandläkaren" not in page


def test_a_coordinator_books_a_callers_ride_from_home_without_a_map(at_home):
    rider = at_home.people["rider"]
    response = at_home.client("coordinator").post(
        f"/console/phone/{rider.pk}/", {"what": "ride", **form(rider)}
    )
    assert response.status_code == 302
    ride = RideRequest.objects.get(rider=rider, requested_by=at_home.people["coordinator"])
    assert (ride.pickup.x, ride.pickup.y) == (HOME_POINT.x, HOME_POINT.y)


def test_a_place_of_a_ride_with_another_association_is_not_known_in_the_console(at_home):
    rider = at_home.people["rider"]
    elsewhere = AssociationFactory(name="Järna idrottsförening")
    RideRequestFactory(rider=rider, association=elsewhere, destination_address="Tandläkaren")
    before = snapshot()
    response = at_home.client("coordinator").post(
        f"/console/phone/{rider.pk}/",
        {"what": "ride", **form(rider, destination_address="Tandläkaren")},
    )
    assert response.status_code == 400
    assert snapshot() == before


def test_known_places_home_first_then_newest_each_address_once(at_home):
    rider = at_home.people["rider"]
    newest = RideRequestFactory(
        rider=rider,
        association=at_home.a,
        pickup_address="STORGATAN 3, Vansbro",  # home, spelt otherwise: not twice
        destination_address="Apoteket, Vansbro",
    )
    places = known_places_of(rider=rider)
    assert [(place.address, place.is_home) for place in places] == [
        (HOME, True),
        ("Apoteket, Vansbro", False),
        (CLINIC, False),
        ("Järnvägsgatan 4, Vansbro", False),
    ]
    assert places[1].point.coords == newest.destination.coords
    assert [place.address for place in known_places_of(rider=rider, limit=2)] == [
        HOME,
        "Apoteket, Vansbro",
    ]


def test_places_whose_addresses_were_forgotten_are_not_known(world):
    rider = world.people["rider"]
    rides_forget_places(RideRequest.objects.filter(rider=rider))
    assert known_places_of(rider=rider) == []

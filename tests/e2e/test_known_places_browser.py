"""The ride form's known places in a real browser: the pickup follows the traveller
chosen to their home, the buttons fill a place with its point, and the ride is booked
with no geocoder (tests/webapp/test_known_places.py has the same without JavaScript)."""

import re

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.rides.models import RideRequest
from tests.e2e.conftest import check_axe, screenshot
from tests.factories import next_weekday_at
from tests.webapp.conftest import World, build_world

pytestmark = pytest.mark.e2e

HOME = "Storgatan 3, Vansbro"


@pytest.fixture
def world(live, settings) -> World:
    settings.GEOCODER_URL = ""
    world = build_world()
    rider = world.people["rider"]
    rider.home_address, rider.home_location = HOME, Point(14.2301, 60.5102, srid=4326)
    rider.save(update_fields=["home_address", "home_location"])
    return world


def test_a_proxy_books_from_her_mothers_home_to_a_place_she_went_before(live, phone, world: World):
    page = phone(world.people["proxy"]).new_page()
    page.goto("/rides/new")
    pickup = page.get_by_label("From (address)")
    assert pickup.input_value() == ""  # the proxy's own home is not known
    assert page.locator("[data-known-places=destination]").is_hidden()

    page.get_by_label("Who travels?").select_option(label="Anna Eriksson")
    assert pickup.input_value() == HOME
    assert page.locator("#id_pickup_lon").input_value() == "14.230100"
    destinations = page.locator("[data-known-places=destination]")
    destinations.get_by_role("button", name="Vårdcentralen, Dala-Järna").click()
    assert page.get_by_label("To (address)").input_value() == "Vårdcentralen, Dala-Järna"
    assert page.locator("#id_destination_lon").input_value() == "14.366670"
    check_axe(page)
    screenshot(page, "ride-request-known-places")

    # Back to herself: her mother's home leaves the pickup, and her places go.
    page.get_by_label("Who travels?").select_option(label="Me (Lena Eriksson)")
    assert pickup.input_value() == ""
    assert destinations.is_hidden()

    page.get_by_label("Who travels?").select_option(label="Anna Eriksson")
    page.get_by_label("Time", exact=True).fill(
        timezone.localtime(next_weekday_at(3, 14)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_role("button", name="Book the ride").click()
    page.wait_for_url(re.compile(r"/rides/\d+/$"))
    ride = RideRequest.objects.get(requested_by=world.people["proxy"])
    assert (ride.rider, ride.pickup.coords) == (world.people["rider"], (14.2301, 60.5102))
    assert ride.destination.coords == (14.36667, 60.53333)


def test_the_pickup_at_home_is_on_the_map_when_the_page_opens(live, phone, world: World):
    page = phone(world.people["rider"]).new_page()
    page.goto("/rides/new")
    assert page.get_by_label("From (address)").input_value() == HOME
    assert page.locator("#id_pickup_lat").input_value() == "60.510200"
    home = page.locator("[data-known-places=pickup]").get_by_role("button", name=f"Home: {HOME}")
    assert home.is_visible()

"""Driver mode's "My car and area": how far the driver picks people up (in km on the
page, in metres in the profile) and the car (seats, description, what it takes), saved
by the same service as the app's. Bad input says what is wrong and saves nothing."""

import pytest

from backend.rides.models import AvailabilityWindow, DriverProfile
from tests.webapp.conftest import ROLES

pytestmark = pytest.mark.django_db

URL = "/driver/profile"
FIELDS = [
    "service_radius_m",
    "seats",
    "vehicle_description",
    "wheelchair_accessible",
    "walker_space",
    "child_seat",
    "takes_guide_dog",
]


def profile(driver: DriverProfile) -> dict:
    return DriverProfile.objects.filter(pk=driver.pk).values(*FIELDS, "home_base").get()


def form(**changes) -> dict:
    return {
        "radius_km": "25",
        "seats": "2",
        "vehicle_description": "Röd Saab 9-3",
        "wheelchair_accessible": "on",
        "child_seat": "on",
    } | changes


@pytest.mark.parametrize("role", ROLES)
def test_only_drivers_have_the_page(world, role):
    response = world.client(role).get(URL)
    if role in ("offered_driver", "holding_driver"):
        assert response.status_code == 200
    elif role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in")
    else:
        assert response.status_code == 403
        assert "You are not a volunteer driver yet." in response.content.decode()


def test_the_page_shows_the_radius_in_km_and_the_car(world):
    driver = world.drivers["holding_driver"]
    DriverProfile.objects.filter(pk=driver.pk).update(service_radius_m=12_500, seats=4)
    page = world.client("holding_driver").get(URL).content.decode()
    assert "How far from home you pick people up (km)" in page
    assert 'name="radius_km" value="12.5"' in page
    assert 'name="seats" value="4"' in page
    assert 'value="Grå Volvo"' in page
    # The factory's profile has room for a walker and takes a guide dog.
    assert 'name="walker_space" id="id_walker_space" checked' in page
    assert 'name="wheelchair_accessible" id="id_wheelchair_accessible">' in page


def test_the_driver_home_links_to_the_page(world):
    page = world.client("holding_driver").get("/driver/").content.decode()
    assert '<a class="button secondary" href="/driver/profile">My car and area</a>' in page


def test_saving_the_car_and_area(world):
    driver = world.drivers["holding_driver"]
    home_base = profile(driver)["home_base"]
    client = world.client("holding_driver")
    response = client.post(URL, form())
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?association={world.a.pk}"
    assert profile(driver) == {
        "service_radius_m": 25_000,
        "seats": 2,
        "vehicle_description": "Röd Saab 9-3",
        "wheelchair_accessible": True,
        "walker_space": False,
        "child_seat": True,
        "takes_guide_dog": False,
        "home_base": home_base,
    }
    assert "Your car and area are saved." in client.get(response["Location"]).content.decode()
    # The other driver's profile is untouched.
    assert profile(world.drivers["offered_driver"])["vehicle_description"] == "Grå Volvo"


def test_a_swedish_decimal_comma_is_read(world):
    driver = world.drivers["holding_driver"]
    client = world.client("holding_driver")
    client.cookies["django_language"] = "sv"
    response = client.post(URL, form(radius_km="7,5"), HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 302
    assert profile(driver)["service_radius_m"] == 7_500


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"seats": "-1"}, "A car has from 1 to 8 passenger seats."),
        ({"seats": "9"}, "A car has from 1 to 8 passenger seats."),
        (
            {"radius_km": "0.2"},
            "The service radius must be from 500 to 100000 metres (0.5 to 100 km).",
        ),
        (
            {"radius_km": "-5"},
            "The service radius must be from 500 to 100000 metres (0.5 to 100 km).",
        ),
        (
            {"radius_km": "250"},
            "The service radius must be from 500 to 100000 metres (0.5 to 100 km).",
        ),
        ({"radius_km": "tjugo"}, "Enter a number."),
        ({"seats": ""}, "This field is required."),
        ({"vehicle_description": "x" * 101}, "at most 100 characters (it has 101)"),
    ],
    ids=[
        "negative-seats",
        "too-many-seats",
        "radius-too-small",
        "negative-radius",
        "radius-too-large",
        "radius-not-a-number",
        "no-seats",
        "description-too-long",
    ],
)
def test_bad_input_is_a_400_that_says_why_and_saves_nothing(world, changes, field_message):
    driver = world.drivers["holding_driver"]
    before = profile(driver)
    windows = list(AvailabilityWindow.objects.filter(driver=driver).values_list("pk", flat=True))
    response = world.client("holding_driver").post(URL, form(**changes))
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert profile(driver) == before
    assert (
        list(AvailabilityWindow.objects.filter(driver=driver).values_list("pk", flat=True))
        == windows
    )


def test_both_wrong_are_named_at_once(world):
    driver = world.drivers["holding_driver"]
    before = profile(driver)
    response = world.client("holding_driver").post(URL, form(seats="0", radius_km="0"))
    page = response.content.decode()
    assert response.status_code == 400
    assert "A car has from 1 to 8 passenger seats." in page
    assert "The service radius must be from 500 to 100000 metres" in page
    assert profile(driver) == before


def test_a_non_driver_cannot_save(world):
    before = [profile(d) for d in world.drivers.values()]
    response = world.client("rider").post(URL, form())
    assert response.status_code == 403
    assert "You are not a volunteer driver yet." in response.content.decode()
    assert [profile(d) for d in world.drivers.values()] == before

"""What residents and drivers do, in a real browser at a phone's size. The pages are in
English here (the tests read their texts); tests/e2e/test_pages.py goes through every
page in Swedish."""

import re

import pytest
from django.utils import timezone

from backend.accounts.models import LoginCode, User
from backend.rides.models import RideRequest, RideState
from dispatch.offers import offer_wave
from tests.e2e.conftest import check_axe, off_loop, screenshot, wait_live
from tests.factories import next_weekday_at, ride_due
from tests.fakes.geocoder import FakeNominatim
from tests.webapp.conftest import World, build_world

pytestmark = pytest.mark.e2e


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def world(live) -> World:
    return build_world()


@pytest.fixture
def geocoder(settings):
    known = {
        "Storgatan 1, Vansbro": (14.2301, 60.5102),
        "Vårdcentralen, Dala-Järna": (14.36667, 60.53333),
    }
    with FakeNominatim(known) as fake:
        yield fake


def test_a_ride_requested_on_the_phone_is_accepted_live_by_a_driver(
    live, phone, world: World, geocoder, settings
):
    settings.GEOCODER_URL = geocoder.url
    erik = world.drivers["holding_driver"]
    resident = phone(world.people["rider"]).new_page()
    driver_phone = phone(
        erik.membership.user,
        geolocation={"latitude": 60.512, "longitude": 14.231},
        permissions=["geolocation"],
    )
    driver = driver_phone.new_page()

    # The driver waits in driver mode, on duty.
    driver.goto("/driver/")
    driver.get_by_role("button", name="Go on duty").click()
    wait_live(driver)

    # The resident books: the pickup from the address suggestions, the destination by a
    # tap on the map (the tiles do not load here; the map still takes the tap).
    resident.goto("/rides/new")
    resident.get_by_label("From (address)").fill("Storgatan 1, Vansbro")
    resident.get_by_role("button", name=re.compile("Storgatan 1, Vansbro")).click()
    assert resident.locator("#id_pickup_lon").input_value() == "14.230100"
    resident.get_by_label("To", exact=True).check()
    resident.locator("[data-map]").click(position={"x": 300, "y": 120})
    assert resident.locator("#id_destination_lat").input_value() != ""
    resident.get_by_label("Time", exact=True).fill(local(next_weekday_at(0, 10)))
    resident.get_by_label("walker").check()
    screenshot(resident, "ride-request-filled")
    resident.get_by_role("button", name="Book the ride").click()
    resident.wait_for_url(re.compile(r"/rides/\d+/$"))
    ride = RideRequest.objects.latest("pk")
    assert ride.pickup_address == "Storgatan 1, Vansbro, Dalarnas län, Sverige"
    wait_live(resident)

    # What the Celery task does on commit: offer the ride to the best drivers.
    offers = {offer.driver_id: offer for offer in off_loop(offer_wave, ride_id=ride.pk)}
    offer_card = driver.locator(f"[data-offer='{offers[erik.pk].pk}']")
    offer_card.wait_for()
    assert "Storgatan" not in offer_card.inner_text()  # no address before accepting
    screenshot(driver, "driver-offer")
    offer_card.get_by_role("button", name="Yes, I drive").click()
    driver.wait_for_url(re.compile(r"/driver/rides/\d+/$"))
    assert "Storgatan 1, Vansbro" in driver.content()

    # The resident's page shows the driver and the car without a reload.
    resident.locator("[data-driver-name]").wait_for()
    assert resident.locator("[data-driver-name]").inner_text() == "Erik Olsson"
    assert "Grå Volvo" in resident.locator("[data-live-region=ride]").inner_text()
    assert resident.locator("[data-ride-state]").get_attribute("data-ride-state") == "accepted"

    # On the way (the day of the ride has come: a driver cannot set off days before it):
    # the state changes live, and the car appears on the resident's map.
    ride.refresh_from_db()
    ride_due(ride)
    driver.get_by_role("button", name="I am on my way").click()
    resident.wait_for_function(
        "document.querySelector('[data-ride-state]').dataset.rideState === 'en_route'"
    )
    driver_phone.set_geolocation({"latitude": 60.515, "longitude": 14.24})
    driver.goto("/driver/")  # the page that shares the position while on duty
    resident.wait_for_function(
        "document.querySelectorAll('[data-map] path.leaflet-interactive').length === 3"
    )
    screenshot(resident, "ride-followed-live")
    ride.refresh_from_db()
    assert ride.state == RideState.EN_ROUTE


def test_signing_in_with_a_code_by_sms(live, phone, world: World, sms_provider):
    page = phone().new_page()
    page.goto("/")
    page.wait_for_url(re.compile("/sign-in"))
    check_axe(page)
    screenshot(page, "sign-in")
    page.get_by_label("Mobile phone number").fill("070-174 06 20")
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url(re.compile("/sign-in/code/verify"))
    check_axe(page)
    sms = sms_provider.accepted[-1].form
    assert sms["to"] == "+46701740620"
    code = re.search(r"\b(\d{6})\b", sms["message"]).group(1)
    assert not LoginCode.objects.filter(code_hash__contains=code).exists()
    page.get_by_label("Code from the SMS").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    assert "That code is not right" in page.content()
    page.get_by_label("Code from the SMS").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Hello Anna!"


def test_joining_on_the_phone_and_confirming_the_number(live, phone, sms_provider):
    page = phone().new_page()
    page.goto("/sign-in")
    page.get_by_role("link", name="New to Samby? Create an account").click()
    page.wait_for_url(re.compile("/join$"))
    page.get_by_label("Your name").fill("Lena Lund")
    page.get_by_label("Mobile phone number").fill("070-174 06 77")
    page.get_by_label("Choose a password").fill("mossa-i-skogen-17")
    screenshot(page, "join-filled")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url(re.compile("/profile/phone$"))
    check_axe(page)
    assert "Welcome to Samby! Your account is ready." in page.content()
    sms = sms_provider.accepted[-1].form
    assert sms["to"] == "+46701740677"
    code = re.search(r"\b(\d{6})\b", sms["message"]).group(1)
    page.get_by_label("Code from the SMS").fill(code)
    page.get_by_role("button", name="Confirm my number").click()
    page.wait_for_url(re.compile("/profile/$"))
    assert "Your phone number is confirmed." in page.content()
    assert "Your phone number is not confirmed yet" not in page.content()
    assert User.objects.get(phone="+46701740677").phone_confirmed_at is not None


def test_a_ride_request_works_with_javascript_off(live, phone, world: World, geocoder, settings):
    settings.GEOCODER_URL = geocoder.url
    page = phone(world.people["proxy"], java_script_enabled=False).new_page()
    page.goto("/rides/new")
    page.get_by_label("Who travels?").select_option(label="Anna Eriksson")
    page.get_by_label("From (address)").fill("Storgatan 1, Vansbro")
    page.get_by_label("To (address)").fill("Nowhere street 99")
    page.get_by_label("Time", exact=True).fill(local(next_weekday_at(1, 11)))
    page.get_by_role("button", name="Book the ride").click()
    # An address the geocoder does not know: the page says so and keeps what was typed.
    assert "We could not find that address" in page.content()
    assert page.get_by_label("From (address)").input_value() == "Storgatan 1, Vansbro"
    assert not RideRequest.objects.filter(requested_by=world.people["proxy"]).exists()
    screenshot(page, "ride-request-error-no-js")
    page.get_by_label("To (address)").fill("Vårdcentralen, Dala-Järna")
    page.get_by_role("button", name="Book the ride").click()
    page.wait_for_url(re.compile(r"/rides/\d+/$"))
    assert "Your ride is booked" in page.content()
    ride = RideRequest.objects.get(requested_by=world.people["proxy"])
    assert (ride.rider, ride.destination.x) == (world.people["rider"], 14.36667)


def test_a_double_tap_on_a_form_button_sends_one_request_with_the_buttons_value(
    live, phone, world: World
):
    page = phone(world.people["rider"]).new_page()
    page.goto("/rides/new")
    page.get_by_label("From (address)").fill("Järnvägsgatan 4, Vansbro")
    page.get_by_label("To (address)").fill("Vårdcentralen, Dala-Järna")
    page.get_by_label("Time", exact=True).fill(local(next_weekday_at(1, 11)))
    sent = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.post_data)
            if request.method == "POST" and request.url.endswith("/rides/new")
            else None
        ),
    )
    # Points as the map would set them (tiles are off here); a button with a name and a
    # value, as other forms have (the run sheet's outcomes); two taps 20 ms apart.
    page.evaluate(
        """() => {
          const form = document.querySelector("[data-ride-form]");
          const set = (name, value) => { form.elements[name].value = value; };
          set("pickup_lon", "14.22458"); set("pickup_lat", "60.50893");
          set("destination_lon", "14.36667"); set("destination_lat", "60.53333");
          const button = document.createElement("button");
          button.name = "tapped";
          button.value = "yes";
          form.append(button);
          button.click();
          setTimeout(() => button.click(), 20);
        }"""
    )
    page.wait_for_url(re.compile(r"/rides/\d+/$"))
    assert "Your ride is booked" in page.content()
    assert len(sent) == 1
    assert "tapped=yes" in sent[0]
    assert RideRequest.objects.filter(rider=world.people["rider"]).count() == 3


def test_switching_the_language_to_english(live, phone, world: World):
    page = phone(world.people["rider"], language="sv").new_page()
    page.goto("/rides/new")
    assert page.locator("html").get_attribute("lang") == "sv"
    page.get_by_role("button", name="In English").click()
    page.wait_for_url(f"{live.url}/rides/new")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Book a volunteer ride"
    world.people["rider"].refresh_from_db()
    assert world.people["rider"].preferred_language == "en"
    page.get_by_role("button", name="På svenska").click()
    assert page.locator("html").get_attribute("lang") == "sv"

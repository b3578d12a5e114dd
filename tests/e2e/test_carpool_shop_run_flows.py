"""Carpooling and shop runs in a real browser at a phone's size: a resident finds and
books a seat and the driver confirms it; a daughter signs her mother up for the shop run.
Every page on the way is checked with axe-core and weighed (bytes on a first visit)."""

import re

import pytest
from django.utils import timezone

from backend.carpool.models import Booking, BookingState
from backend.shuttle.models import RunSignup, SignupState
from tests.carpool_fixtures import along
from tests.e2e.conftest import PAGE_BUDGET, Transfer, check_axe, off_loop, screenshot
from tests.factories import next_weekday_at
from tests.fakes.geocoder import FakeNominatim
from tests.shuttle_world import make_world
from tests.webapp.carpool_world import publish
from tests.webapp.conftest import build_world

pytestmark = pytest.mark.e2e


def weighed(context, path: str):
    """A new page of the context opened at `path`, and what its first load moved."""
    page = context.new_page()
    transfer = Transfer()
    transfer.watch(page)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page, transfer


@pytest.fixture
def geocoder(settings):
    pickup, dropoff = along(0.2), along(0.8)
    known = {
        "Byvägen 3, Västby": (pickup.x, pickup.y),
        "Skolgatan 9, Östby": (dropoff.x, dropoff.y),
    }
    with FakeNominatim(known) as fake:
        settings.GEOCODER_URL = fake.url
        yield fake


def test_a_resident_books_a_carpool_seat_and_the_driver_confirms_it(live, phone, geocoder):
    world = off_loop(build_world)
    off_loop(publish, world=world)
    day = timezone.localtime(next_weekday_at(0, 7)).date().isoformat()

    resident_phone = phone(world.people["rider"])
    resident, transfer = weighed(resident_phone, "/carpool/")
    assert transfer.total < PAGE_BUDGET, transfer.rows
    check_axe(resident)
    resident.get_by_label("From (address)").fill("Byvägen 3, Västby")
    resident.get_by_label("To (address)").fill("Skolgatan 9, Östby")
    resident.get_by_label("Day").fill(day)
    resident.get_by_label("Earliest pickup").fill("07:00")
    resident.get_by_label("Latest pickup").fill("08:30")
    resident.get_by_role("button", name="Search").click()
    resident.get_by_role("heading", name="One trip fits").wait_for()
    assert "Olsson" not in resident.content()  # first name only before confirmation
    check_axe(resident)
    screenshot(resident, "carpool-results-en")
    resident.get_by_label("Message to the driver (optional)").fill("Jag står vid busskuren")
    resident.get_by_role("button", name="Book a seat").click()
    resident.wait_for_url(re.compile(r"/carpool/bookings$"))
    assert "Waiting for the driver" in resident.content()
    check_axe(resident)
    booking = Booking.objects.get()
    assert booking.pickup_address == "Byvägen 3, Västby"
    assert booking.message == "Jag står vid busskuren"

    # The driver answers on the trips page.
    driver, transfer = weighed(phone(world.people["holding_driver"]), "/carpool/trips")
    assert transfer.total < PAGE_BUDGET, transfer.rows
    check_axe(driver)
    driver.get_by_role("button", name="Accept Anna").click()
    driver.get_by_text("The seat is confirmed.").wait_for()
    assert "Anna Eriksson" in driver.content()
    booking.refresh_from_db()
    assert booking.state == BookingState.CONFIRMED

    resident.reload()
    assert "Erik Olsson" in resident.content()
    screenshot(resident, "carpool-booking-confirmed-en")


def test_a_daughter_signs_her_mother_up_for_the_shop_run(live, phone):
    shop = off_loop(make_world)
    daughter = phone(shop.daughter)
    page, transfer = weighed(daughter, "/")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Shop runs").click()
    page.wait_for_url(re.compile(r"/shop-runs/$"))
    check_axe(page)
    page.get_by_role("link", name=re.compile("^Sign up for")).first.click()
    page.wait_for_url(re.compile(r"/shop-runs/\d+/sign-up$"))
    check_axe(page)
    assert page.get_by_label("Who comes along?").input_value() == str(shop.managed.pk)
    assert "Gretas väg 9" in page.content()  # picked up at home unless told otherwise
    page.get_by_label("walker").check()
    page.get_by_label("Every week until I stop it").check()
    screenshot(page, "shop-run-signup-en")
    page.get_by_role("button", name="Sign up", exact=True).click()
    page.wait_for_url(re.compile(r"/shop-runs/$"))
    page.get_by_text("Greta Andersson is signed up.").wait_for()
    assert "Greta Andersson comes along every week" in page.content()
    check_axe(page)
    screenshot(page, "shop-runs-signed-up-en")
    signup = RunSignup.objects.filter(passenger=shop.managed).order_by("pk").first()
    assert (signup.state, signup.signed_up_by, signup.needs) == (
        SignupState.CONFIRMED,
        shop.daughter,
        ["walker"],
    )
    assert signup.pickup_address == "Gretas väg 9"

    # The page weighs what the budget allows on a first visit.
    page, transfer = weighed(phone(shop.daughter), "/shop-runs/")
    assert transfer.total < PAGE_BUDGET, transfer.rows

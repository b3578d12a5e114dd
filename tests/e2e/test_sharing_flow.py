"""Shared things in a real browser at a phone's size: a resident browses, books the
village car, checks it out and in with the odometer. Every page on the way is checked
with axe-core and weighed (bytes on a first visit)."""

import datetime
import re

import pytest
from django.utils import timezone

from backend.sharing.models import Booking, BookingStatus
from tests.e2e.conftest import PAGE_BUDGET, Transfer, check_axe, off_loop, screenshot
from tests.webapp.conftest import build_world
from tests.webapp.sharing_world import add_sharing

pytestmark = pytest.mark.e2e


def weighed(context, path: str):
    page = context.new_page()
    transfer = Transfer()
    transfer.watch(page)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page, transfer


def test_a_resident_books_the_village_car_checks_it_out_and_in(live, phone):
    world = off_loop(build_world)
    off_loop(add_sharing, world=world)
    context = phone(world.people["rider"])

    page, transfer = weighed(context, "/")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Borrow").click()
    page.wait_for_url(re.compile(r"/sharing/$"))
    check_axe(page)
    page.get_by_label("What").select_option("car")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="One thing found").wait_for()
    check_axe(page)
    screenshot(page, "sharing-browse-en")
    page.get_by_role("link", name="Byabilen").click()
    page.wait_for_url(re.compile(r"/sharing/\d+/$"))
    assert "kod 1234" not in page.content()  # the key only once booked
    check_axe(page)
    screenshot(page, "sharing-resource-en")

    # Book from a few minutes from now, so that it can be checked out at once.
    start = timezone.localtime() + datetime.timedelta(minutes=10)
    page.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
    end = start + datetime.timedelta(hours=2)
    page.get_by_label("Until").fill(end.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Note to the owner (optional)").fill("Till vårdcentralen")
    page.get_by_role("button", name="Book", exact=True).click()
    page.wait_for_url(re.compile(r"/sharing/bookings$"))
    page.get_by_text("Byabilen is booked.").wait_for()
    assert "kod 1234" in page.content()
    check_axe(page)
    screenshot(page, "sharing-bookings-en")
    booking = Booking.objects.get()
    assert (booking.status, booking.note) == (BookingStatus.CONFIRMED, "Till vårdcentralen")

    page.get_by_label("Odometer (km)").fill("12000")
    page.get_by_label("Condition (optional)").fill("Liten repa bak")
    page.get_by_role("button", name="Check out").click()
    page.get_by_text("Checked out. Have a good trip!").wait_for()
    check_axe(page)
    screenshot(page, "sharing-checked-out-en")
    page.get_by_label("Odometer (km)").fill("12037")
    page.get_by_role("button", name="Check in").click()
    page.get_by_text("Thank you! 37 km").wait_for()
    check_axe(page)
    booking.refresh_from_db()
    assert (booking.status, booking.odometer_out, booking.km_driven) == (
        BookingStatus.RETURNED,
        12_000,
        37,
    )

    # The pages weigh what the budget allows on a first visit.
    for path in ("/sharing/", f"/sharing/{world.car.pk}/", "/sharing/bookings"):
        page, transfer = weighed(phone(world.people["rider"]), path)
        assert transfer.total < PAGE_BUDGET, (path, transfer.rows)


def test_a_resident_books_a_neighbours_trailer(live, phone):
    world = off_loop(build_world)
    off_loop(add_sharing, world=world)
    context = phone(world.people["rider"])

    page, _transfer = weighed(context, "/sharing/")
    page.get_by_label("What").select_option("tool")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Lars släpvagn").click()
    page.wait_for_url(re.compile(r"/sharing/\d+/$"))
    assert "Storgatan 12" not in page.content()  # where it stands only once booked
    check_axe(page)

    start = (timezone.localtime() + datetime.timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    page.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Until").fill(
        (start + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_role("button", name="Book", exact=True).click()
    page.wait_for_url(re.compile(r"/sharing/bookings$"))
    page.get_by_text("Lars släpvagn is booked.").wait_for()
    assert "Storgatan 12" in page.content()
    check_axe(page)
    booking = Booking.objects.get()
    assert (booking.resource_id, booking.booker, booking.status) == (
        world.trailer.pk,
        world.people["rider"],
        BookingStatus.CONFIRMED,
    )

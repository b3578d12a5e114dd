"""The association console in a real browser at a desktop's size (1280x800): a phone-in
booking for an elderly caller without a login, from search to a dispatched ride; the
board following a driver's answer live; every console page clean for axe-core."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import User
from backend.community.models import Membership, MembershipState
from backend.community.services import association_message_deliver, association_message_send
from backend.notifications.models import Channel, Delivery, DeliveryStatus
from backend.rides.models import Offer, RideRequest, RideState
from backend.rides.services import RideTime, ride_complete, ride_pick_up
from backend.sharing.models import (
    ApprovalMode,
    Booking,
    BookingStatus,
    ProblemKind,
    ProblemReport,
    Resource,
)
from dispatch.offers import offer_accept, offer_wave
from dispatch.services import ride_request_submit
from tests.e2e.conftest import check_axe, off_loop, screenshot, wait_live
from tests.factories import MembershipFactory, next_weekday_at, ride_due
from tests.sharing_fixtures import BookingFactory, ResourceFactory
from tests.webapp.conftest import World, build_world

pytestmark = pytest.mark.e2e
DESK = {"width": 1280, "height": 800}


@pytest.fixture
def world(live) -> World:
    return build_world()


@pytest.fixture
def desk(browser, live):
    contexts = []

    def open_desk(user):
        context = browser.new_context(viewport=DESK, base_url=live.url, locale="en-GB")
        context.set_default_timeout(10_000)
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {"name": "django_language", "value": "en", "url": live.url},
                {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live.url},
            ]
        )
        contexts.append(context)
        return context.new_page()

    yield open_desk
    for context in contexts:
        context.close()


def test_a_phone_in_booking_for_an_elderly_caller_is_dispatched(live, desk, world: World):
    page = desk(world.people["coordinator"])
    page.goto("/console/phone/")
    check_axe(page)
    # Nobody by that name yet: the search says so, and the new person's form is filled.
    page.get_by_label("Name or phone number").fill("Gunnel")
    page.get_by_role("button", name="Find").click()
    assert "Nobody in the association matches" in page.content()
    assert page.get_by_label("Full name").input_value() == "Gunnel"
    page.get_by_label("Full name").fill("Gunnel Ek")
    page.get_by_label("Phone number (optional)").fill("070-174 06 99")
    screenshot(page, "console-phone")
    page.get_by_role("button", name="Add and book").click()
    page.wait_for_url(re.compile(r"/console/phone/\d+/"))
    gunnel = User.objects.get(full_name="Gunnel Ek")
    assert gunnel.is_managed

    page.get_by_label("From (address)").fill("Järnvägsgatan 4, Vansbro")
    page.get_by_text("From: coordinates").click()
    page.get_by_label("From: longitude").fill("14.2267")
    page.get_by_label("From: latitude").fill("60.5103")
    page.get_by_label("To (address)").fill("Vårdcentralen, Dala-Järna")
    page.get_by_text("To: coordinates").click()
    page.get_by_label("To: longitude").fill("14.3644")
    page.get_by_label("To: latitude").fill("60.5534")
    page.get_by_label("Time", exact=True).fill(
        next_weekday_at(0, 10).astimezone().strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("walker").check()
    check_axe(page)
    screenshot(page, "console-book")
    page.get_by_role("button", name="Book the ride").click()
    page.wait_for_url(re.compile(r"/console/rides/\d+/"))
    assert "A confirmation goes by SMS to +46701740699" in page.content()
    ride = RideRequest.objects.get(rider=gunnel)
    assert ride.requested_by == world.people["coordinator"]

    # What the Celery task does on commit: the ride is offered to the drivers.
    assert off_loop(offer_wave, ride_id=ride.pk)
    page.reload()
    assert page.locator("[data-state]").get_attribute("data-state") == "offering"
    check_axe(page)
    screenshot(page, "console-ride")


def test_the_board_follows_a_driver_accepting_live(live, desk, world: World):
    page = desk(world.people["coordinator"])
    page.goto("/console/")
    wait_live(page)
    row = page.locator(f"[data-ride='{world.open.pk}'] [data-state]")
    assert row.get_attribute("data-state") == "offering"
    check_axe(page)
    offer = Offer.objects.get(ride=world.open)
    off_loop(offer_accept, offer_id=offer.pk, actor=world.people["offered_driver"])
    page.wait_for_function(
        f"document.querySelector(\"[data-ride='{world.open.pk}'] [data-state]\")"
        ".dataset.state === 'accepted'"
    )
    assert "Sven Holm" in page.locator(f"[data-ride='{world.open.pk}']").inner_text()
    world.open.refresh_from_db()
    assert world.open.state == RideState.ACCEPTED
    screenshot(page, "console-board")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/console/roster/", "console-roster"),
        ("/console/runs/", "console-runs"),
        ("/console/mileage/", "console-mileage"),
        ("/console/messages/", "console-messages"),
        ("/console/sharing/", "console-sharing-empty"),
    ],
)
def test_the_console_pages_are_accessible(live, desk, world: World, path, name):
    page = desk(world.people["coordinator"])
    page.goto(path)
    check_axe(page)
    screenshot(page, name)


def test_the_ask_first_pages_and_a_waiting_claim_are_accessible(live, desk, world: World):
    """The roster's questions (give a driver's rides back, make someone a coordinator)
    and the mileage page with a claim waiting at its top."""
    holding = Membership.objects.get(user=world.people["holding_driver"], association=world.a)
    johan = Membership.objects.get(user=world.people["other_resident"], association=world.a)
    page = desk(world.people["coordinator"])
    page.goto(f"/console/roster/{holding.pk}/release-rides")
    assert "back to dispatch?" in page.locator("h1").inner_text()
    check_axe(page)
    screenshot(page, "console-release-rides")
    page.goto(f"/console/roster/{johan.pk}/coordinator")
    assert page.locator("h1").inner_text() == "Make Johan Persson a coordinator of Äppelbo byalag?"
    check_axe(page)
    screenshot(page, "console-coordinator-role")

    driver = world.people["holding_driver"]
    ride = off_loop(ride_pick_up, ride=ride_due(world.held), actor=driver)
    off_loop(ride_complete, ride=ride, actor=driver, driven_m=125_400, explanation="Omväg via Nås.")
    page.goto("/console/mileage/")
    assert "Omväg via Nås." in page.content()
    check_axe(page)
    screenshot(page, "console-mileage-claim")


def test_what_became_of_a_message_to_all_members_is_shown_accessibly(live, desk, world: World):
    coordinator = world.people["coordinator"]
    message = association_message_send(
        actor=coordinator,
        association=world.a,
        text="Handlarskjutsen är inställd i dag.",
        urgent=True,
    )
    off_loop(association_message_deliver, message_id=message.pk)
    # One member's SMS was refused by the provider (the flow itself is tested in
    # tests/webapp/test_console_messages.py, against a fake provider).
    failed = (
        Delivery.objects.filter(notification__payload__message=message.pk, channel=Channel.SMS)
        .select_related("notification__recipient")
        .first()
    )
    assert failed is not None  # members are texted by default
    Delivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)

    page = desk(coordinator)
    page.goto("/console/messages/")
    text = page.content()
    assert "Delivered to" in text and "Read in the app by 0." in text
    assert f"{failed.notification.recipient.full_name} (SMS)" in text
    check_axe(page)
    screenshot(page, "console-messages-reach")


def test_an_unassigned_ride_appears_live_and_is_given_by_hand_to_a_driver(
    live, desk, phone, world: World
):

    coordinator = desk(world.people["coordinator"])
    coordinator.goto("/console/")
    wait_live(coordinator)
    erik = world.drivers["holding_driver"]
    driver = phone(erik.membership.user).new_page()
    driver.goto("/driver/")
    wait_live(driver)

    # A ride nobody can take (a wheelchair, and no car here takes one): every wave finds
    # nobody, dispatch gives up, and the board shows it at once.
    ride = off_loop(
        ride_request_submit,
        requested_by=world.people["rider"],
        rider=world.people["rider"],
        association=world.a,
        pickup=world.open.pickup,
        pickup_address="Järnvägsgatan 4, Vansbro",
        destination=world.open.destination,
        destination_address="Vårdcentralen, Dala-Järna",
        when=RideTime(kind="pickup_at", at=next_weekday_at(2, 14)),
        needs=["wheelchair"],
    )
    assert off_loop(offer_wave, ride_id=ride.pk) == []
    alert = coordinator.get_by_role("link", name=re.compile("No driver found"))
    alert.wait_for()
    check_axe(coordinator)
    alert.click()
    coordinator.wait_for_url(re.compile(rf"/console/rides/{ride.pk}/"))
    assert "No driver is free and near for this ride" in coordinator.content()
    coordinator.get_by_label("Driver", exact=True).select_option(str(erik.pk))
    coordinator.get_by_role("button", name="Assign", exact=True).click()
    assert "Erik Olsson drives this ride and has been told." in coordinator.content()

    # The driver's open page shows the ride among theirs without a reload.
    driver.locator(f"a[href='/driver/rides/{ride.pk}/']").wait_for()
    ride.refresh_from_db()
    assert (ride.state, ride.driver) == (RideState.ACCEPTED, erik)


def test_approving_a_pending_member(live, desk, world: World):

    pending = MembershipFactory(
        association=world.a, user__full_name="Nils Nyström", state=MembershipState.PENDING
    )
    page = desk(world.people["coordinator"])
    page.goto("/console/roster/")
    page.get_by_role("button", name="Approve Nils Nyström").click()
    page.get_by_text("Nils Nyström is now an active member.").wait_for()
    check_axe(page)
    assert Membership.objects.get(pk=pending.pk).state == MembershipState.ACTIVE


def test_exporting_the_mileage_csv(live, desk, world: World):

    held = world.held
    held.state, held.closed_at, held.driven_m = RideState.COMPLETED, timezone.now(), 12_345
    held.save()
    page = desk(world.people["coordinator"])
    page.goto("/console/mileage/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV for the treasurer").click()
    download = download_info.value
    assert download.suggested_filename == f"mileage-{world.a.pk}-{timezone.localdate():%Y-%m}.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["driver", "rides", "km", "amount (SEK)", "paid on"]
    assert rows[1][:4] == ["Erik Olsson", "1", "12.3", "30.86"]


def test_the_board_on_a_tablet(live, browser, world: World):
    """An upright tablet (768x1024): one column, nothing cut off, still clean for axe."""
    context = browser.new_context(
        viewport={"width": 768, "height": 1024}, base_url=live.url, locale="en-GB"
    )
    try:
        client = Client()
        client.force_login(world.people["coordinator"])
        context.add_cookies(
            [
                {"name": "django_language", "value": "en", "url": live.url},
                {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live.url},
            ]
        )
        page = context.new_page()
        page.goto("/console/")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 768
        check_axe(page)
        screenshot(page, "console-board-tablet")
    finally:
        context.close()


def test_shared_things_declining_a_request_and_repairing_a_breakdown(live, desk, world: World):
    """Every section of the page filled (a request, a late loan, a breakdown), clean for
    axe-core before and after acting on it."""
    hall = ResourceFactory(
        association=world.a, title="Bygdegården", approval_mode=ApprovalMode.OWNER
    )
    mower = ResourceFactory(association=world.a, title="Gräsklipparen", out_of_service=True)
    ProblemReport.objects.create(
        resource=mower, kind=ProblemKind.BREAKDOWN, text="Kniven är trasig"
    )
    request = BookingFactory(
        resource=hall, booker=world.people["rider"], status=BookingStatus.REQUESTED
    )
    now = timezone.now()
    BookingFactory(
        resource=ResourceFactory(association=world.a, title="Byasläpet"),
        booker=world.people["other_resident"],
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
        blocked_until=now - timedelta(days=1),
        status=BookingStatus.OVERDUE,
    )
    page = desk(world.people["coordinator"])
    page.goto("/console/sharing/")
    check_axe(page)
    screenshot(page, "console-sharing")
    page.get_by_label("Reason (the booker sees it)").fill("Stämman har lokalen")
    page.get_by_role("button", name="Decline").click()
    page.get_by_text("booking of Bygdegården is declined").wait_for()
    page.get_by_role("button", name="Put Gräsklipparen back in service").click()
    page.get_by_text("Gräsklipparen is back in service.").wait_for()
    check_axe(page)
    declined = Booking.objects.get(pk=request.pk)
    assert (declined.status, declined.reason) == (BookingStatus.DECLINED, "Stämman har lokalen")
    assert not Resource.objects.get(pk=mower.pk).out_of_service

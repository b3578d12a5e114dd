"""My profile, my messages, my data: choices saved, bad input refused, export and
erasure; and the installable app's manifest, worker and offline page."""

import json
from datetime import time

import pytest

from backend.notifications.models import Notification, QuietHours
from backend.notifications.services import notify
from backend.rides.models import RideRequest, RideState

pytestmark = pytest.mark.django_db

PROFILE = {
    "preferred_language": "sv",
    "contact_by_push": "on",
    "contact_by_sms": "on",
    "email": "",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
}


def test_saving_language_and_contact_choices(world):
    rider = world.people["rider"]
    response = world.client("rider").post("/profile/", PROFILE)
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "sv"
    rider.refresh_from_db()
    assert (rider.preferred_language, rider.contact_by_sms, rider.contact_by_email) == (
        "sv",
        True,
        False,
    )
    quiet = QuietHours.objects.get(user=rider)
    assert (quiet.start, quiet.end) == (time(22), time(7))


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"contact_by_email": "on"}, "Give an e-mail address to get e-mail"),
        ({"email": "not-an-address"}, "Enter a valid email address"),
        ({"quiet_start": "07:00", "quiet_end": "07:00"}, "Quiet hours need a start and an end"),
        ({"quiet_start": "25:00"}, "Enter a valid time"),
        ({"preferred_language": "fi"}, "Select a valid choice"),
    ],
    ids=["e-mail without address", "bad e-mail", "empty quiet hours", "bad time", "language"],
)
def test_bad_choices_are_explained_and_nothing_is_saved(world, changes, text):
    rider = world.people["rider"]
    before = (rider.preferred_language, rider.contact_by_email, rider.email)
    response = world.client("rider").post("/profile/", PROFILE | changes)
    assert response.status_code == 400
    assert text in response.content.decode()
    rider.refresh_from_db()
    assert (rider.preferred_language, rider.contact_by_email, rider.email) == before
    assert not QuietHours.objects.filter(user=rider).exists()


def test_my_data_as_a_json_file(world):
    rider = world.people["rider"]
    notify(rider, "ride.requested", {"when": "2026-12-01 10:00"})
    response = world.client("rider").get("/profile/export")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="samby-')
    data = json.loads(response.content)
    assert data["person"]["full_name"] == "Anna Eriksson"
    assert data["person"]["phone"] == "+46701740620"
    assert {r["id"] for r in data["rides"]} == {world.open.pk, world.held.pk}
    held = next(r for r in data["rides"] if r["id"] == world.held.pk)
    assert (held["pickup_address"], held["driver"], held["note"]) == (
        "Järnvägsgatan 4, Vansbro",
        "Erik Olsson",
        "Portkod 1234",
    )
    assert data["notifications"][0]["title"] == "Ride booked"
    assert [(p["name"], p["relationship"]) for p in data["proxies"]["they_help_me"]] == [
        ("Lena Eriksson", "dotter")
    ]
    assert data["memberships"][0]["approved_for_rides"] is not None


def test_a_drivers_export_shows_their_rides_without_the_passengers(world):
    response = world.client("holding_driver").get("/profile/export")
    data = json.loads(response.content)
    assert [r["id"] for r in data["rides_driven"]] == [world.held.pk]
    assert "pickup_address" not in data["rides_driven"][0]
    assert "Anna" not in response.content.decode()
    assert data["driver_profiles"][0]["car"] == "Grå Volvo"
    assert len(data["driver_profiles"][0]["weekly_availability"]) == 7


def test_export_needs_sign_in(world):
    assert world.client("anonymous").get("/profile/export").status_code == 302


def test_erasure_needs_the_box_ticked(world):
    before = RideRequest.objects.filter(rider=world.people["rider"]).count()
    response = world.client("rider").post("/profile/erase", {})
    assert response.status_code == 400
    assert "Tick the box to confirm" in response.content.decode()
    rider = world.people["rider"]
    rider.refresh_from_db()
    assert (rider.full_name, rider.is_active) == ("Anna Eriksson", True)
    assert RideRequest.objects.filter(rider=rider, state=RideState.OFFERING).count() == 1
    assert RideRequest.objects.filter(rider=rider).count() == before


def test_erasing_my_account(world):
    rider = world.people["rider"]
    notify(rider, "ride.requested", {"when": "2026-12-01 10:00"})
    client = world.client("rider")
    rides_before = RideRequest.objects.filter(rider=rider).count()
    response = client.post("/profile/erase", {"confirm": "on"})
    assert response["Location"] == "/erased"
    rider.refresh_from_db()
    assert (rider.full_name, rider.phone, rider.email, rider.is_active) == ("—", "", "", False)
    assert not rider.has_usable_password()
    # The counts stay, the details go; upcoming rides are cancelled.
    assert RideRequest.objects.filter(rider=rider).count() == rides_before
    assert set(RideRequest.objects.filter(rider=rider).values_list("state", flat=True)) == {
        RideState.CANCELLED
    }
    assert set(
        RideRequest.objects.filter(rider=rider).values_list("pickup_address", flat=True)
    ) == {""}
    assert not Notification.objects.filter(recipient=rider).exists()
    assert not rider.proxy_links.exists()
    # Signed out, and the session is gone.
    assert client.get("/").status_code == 302
    # The driver who held the ride was told.
    assert Notification.objects.filter(
        recipient=world.people["holding_driver"], kind="ride.cancelled"
    ).exists()


def test_a_driver_erasing_their_account_gives_their_rides_back(world):
    driver = world.people["holding_driver"]
    page = world.client("holding_driver").get("/profile/erase").content.decode()
    assert "1 ride to drive" in page or "1 resa att köra" in page
    response = world.client("holding_driver").post("/profile/erase", {"confirm": "on"})
    assert response["Location"] == "/erased"
    driver.refresh_from_db()
    assert (driver.full_name, driver.is_active) == ("—", False)
    world.held.refresh_from_db()
    assert (world.held.state, world.held.driver) == (RideState.REQUESTED, None)
    assert Notification.objects.filter(
        recipient=world.people["rider"], kind="ride.driver_withdrew"
    ).exists()


# --- Messages --------------------------------------------------------------------------------


def test_my_messages_and_marking_them_read(world, django_assert_num_queries):
    rider = world.people["rider"]
    first = notify(rider, "ride.requested", {"when": "2026-12-01 10:00"})
    second = notify(rider, "ride.requested", {"when": "2026-12-02 10:00"})
    client = world.client("rider")
    client.get("/notifications/")
    # session, user, shell (1), count, page of notifications
    with django_assert_num_queries(5):
        page = client.get("/notifications/").content.decode()
    # The payload's times in words ("2026-12-01 10:00" is a Tuesday).
    assert "Wednesday 2 December" in page and "Tuesday 1 December" in page
    client.post("/notifications/read", {"id": str(first.pk)})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    client.post("/notifications/read", {"up_to": str(second.pk)})
    second.refresh_from_db()
    assert second.read_at is not None


def test_someone_elses_message_is_not_touched(world):
    theirs = notify(world.people["proxy"], "ride.requested", {"when": "2026-12-01 10:00"})
    world.client("rider").post("/notifications/read", {"id": str(theirs.pk)})
    world.client("rider").post("/notifications/read", {"up_to": str(theirs.pk)})
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_home_shows_next_rides_and_unread_messages(world, django_assert_num_queries):
    rider = world.people["rider"]
    notify(rider, "ride.requested", {"when": "2026-12-01 10:00"})
    client = world.client("rider")
    client.get("/")
    # session, user, shell (1), unread, my memberships' states (the card for people who
    # are not members), the people I book for, my driver profiles (none: no driving or
    # offers), next rides, carpool seats, carpool departures, shop-run sign-ups,
    # shared-thing bookings
    with django_assert_num_queries(12):
        page = client.get("/").content.decode()
    assert "Hello Anna!" in page
    assert f'href="/rides/{world.held.pk}/"' in page
    assert "We are looking for a driver for your ride Tuesday 1 December" in page


def test_home_shows_the_rides_i_drive_and_the_offers_waiting_for_me(world):
    held_page = world.client("holding_driver").get("/").content.decode()
    assert "Rides I drive" in held_page
    assert f'href="/driver/rides/{world.held.pk}/"' in held_page
    assert "Driver found" in held_page and "Anna Eriksson" not in held_page
    assert "waiting for your answer" not in held_page
    offered_page = world.client("offered_driver").get("/").content.decode()
    assert "One ride is waiting for your answer." in offered_page
    assert "Rides I drive" not in offered_page


def test_the_proxy_sees_the_residents_rides_on_the_home_page_and_the_ride_list(world):
    home = world.client("proxy").get("/").content.decode()
    assert f'href="/rides/{world.held.pk}/"' in home and "· Anna Eriksson" in home
    world.held.state = RideState.COMPLETED
    world.held.save()
    rides = world.client("proxy").get("/rides/").content.decode()
    coming, earlier = rides.split("Earlier")
    assert f'href="/rides/{world.open.pk}/"' in coming
    assert f'href="/rides/{world.held.pk}/"' in earlier and "Completed" in earlier
    assert "Rides I drive" not in home


# --- The installable app ---------------------------------------------------------------------


def test_the_manifest(client):
    response = client.get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert (manifest["start_url"], manifest["display"]) == ("/", "standalone")
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_the_offline_page_and_the_worker_that_serves_it(client):
    assert (
        "No connection right now"
        in client.get("/offline", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
    worker = client.get("/sw.js").content.decode()
    assert 'const OFFLINE_URL = "/offline"' in worker
    assert 'event.request.mode !== "navigate"' in worker

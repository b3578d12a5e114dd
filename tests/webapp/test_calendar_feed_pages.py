"""The profile's "Samby in your phone's calendar": reading the page never makes a secret
address, a POST does, a new address retires the old one; and the address serves the
person's own rides."""

import re

import pytest
from django.test import Client
from icalendar import Calendar

from backend.sharing.models import CalendarFeed

pytestmark = pytest.mark.django_db

HOST = "127.0.0.1:8000"


def _path(url: str) -> str:
    """The path of an absolute address the page showed (the test client's host)."""
    return url.split("testserver", 1)[1]


def _feed_url(page: str) -> str:
    """The https address the profile shows to copy."""
    return re.search(r'value="([^"]+)" data-calendar-url', page).group(1)


def _uids(body: bytes) -> set[str]:
    return {str(event["uid"]) for event in Calendar.from_ical(body).walk("VEVENT")}


def test_reading_the_profile_makes_no_address(world):
    page = world.client("rider").get("/profile/").content.decode()
    assert "Samby in your phone's calendar" in page
    assert "Show my calendar address" in page
    assert "webcal://" not in page
    assert not CalendarFeed.objects.exists()


def test_asking_makes_the_address_once_and_the_page_shows_it(world):
    rider = world.people["rider"]
    client = world.client("rider")
    response = client.post("/profile/calendar")
    assert (response.status_code, response["Location"]) == (302, "/profile/#calendar")
    feed = CalendarFeed.objects.get(user=rider)
    page = client.get("/profile/").content.decode()
    url = f"http://testserver/api/v1/sharing/feeds/{feed.token}.ics"
    assert f'href="webcal://testserver/api/v1/sharing/feeds/{feed.token}.ics"' in page
    assert _feed_url(page) == url
    assert "Anyone with this address sees your bookings" in page
    assert "Make a new address" in page
    # Asking again shows the same address; reading makes nothing new.
    client.post("/profile/calendar")
    client.get("/profile/")
    assert list(CalendarFeed.objects.values_list("token", flat=True)) == [feed.token]
    # Without a login (a phone's calendar): the rider's rides, the held one confirmed.
    calendar = Client().get(_path(url))
    assert calendar.status_code == 200
    assert calendar["Content-Type"].startswith("text/calendar")
    assert _uids(calendar.content) == {
        f"ride-{world.open.pk}@{HOST}",
        f"ride-{world.held.pk}@{HOST}",
    }


def test_a_new_address_retires_the_old_one(world):
    client = world.client("rider")
    client.post("/profile/calendar")
    old = _feed_url(client.get("/profile/").content.decode())
    response = client.post("/profile/calendar/new", follow=True)
    assert response.redirect_chain == [("/profile/#calendar", 302)]
    page = response.content.decode()
    assert "the old one no longer works" in page
    new = _feed_url(page)
    assert new != old
    assert Client().get(_path(old)).status_code == 404
    assert Client().get(_path(new)).status_code == 200


def test_unknown_address_is_not_found(world):
    assert Client().get("/api/v1/sharing/feeds/not-a-token.ics").status_code == 404


def test_a_proxys_calendar_holds_only_their_own(world):
    client = world.client("proxy")
    client.post("/profile/calendar")
    page = client.get("/profile/").content.decode()
    assert "not those of the people you help" in page
    body = Client().get(_path(_feed_url(page))).content
    assert _uids(body) == set()
    assert "Anna Eriksson" not in body.decode()


def test_a_drivers_calendar_has_the_ride_they_hold_without_the_riders_details(world):
    client = world.client("holding_driver")
    client.post("/profile/calendar")
    body = Client().get(_path(_feed_url(client.get("/profile/").content.decode()))).content
    assert _uids(body) == {f"ride-driven-{world.held.pk}@{HOST}"}
    text = body.decode().replace("\r\n ", "")
    for secret in ("Anna Eriksson", "+46701740620", world.held.pickup_address, "Portkod"):
        assert secret not in text


@pytest.mark.parametrize("path", ["/profile/calendar", "/profile/calendar/new"])
def test_reading_the_forms_address_is_refused(world, path):
    assert world.client("rider").get(path).status_code == 405
    assert not CalendarFeed.objects.exists()


@pytest.mark.parametrize("path", ["/profile/calendar", "/profile/calendar/new"])
def test_signed_out_is_sent_to_sign_in(world, path):
    response = world.client("anonymous").post(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in")
    assert not CalendarFeed.objects.exists()


def test_a_post_from_another_site_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.people["rider"])
    assert client.post("/profile/calendar").status_code == 403
    assert not CalendarFeed.objects.exists()


def test_my_bookings_of_shared_things_link_to_the_calendar(world):
    page = world.client("rider").get("/sharing/bookings").content.decode()
    assert 'href="/profile/#calendar"' in page

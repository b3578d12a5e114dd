"""Booking attempts are limited per person (THROTTLE_BOOKING), on one counter for the
API and the web pages and for every kind of booking: a ride, a carpool seat, a shared
thing, a shop-run seat. An attempt counts whether or not it books anything; a refused
one is not handled at all. Reading (GET) is not counted."""

import pytest
import rest_framework.throttling  # noqa: F401 - binds DRF's rates before a test changes them
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = {
    "ride": "/api/v1/rides/",
    "carpool": "/api/v1/carpool/bookings/",
    "sharing": "/api/v1/sharing/resources/999999/bookings",
    "shop_run": "/api/v1/shuttle/runs/999999/signups",
}
WEB = {
    "ride": "/rides/new",
    "carpool": "/carpool/book",
    "sharing": "/sharing/999999/book",
    "shop_run": "/shop-runs/999999/sign-up",
}


@pytest.fixture
def booking_rate(settings):
    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "booking": rate,
            },
        }

    return set_rate


def clients(user) -> tuple[APIClient, Client]:
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(user)
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(user)
    web.cookies["django_language"] = "en"
    return api, web


def test_alternating_api_and_web_bookings_of_every_kind_share_one_limit(booking_rate):
    booking_rate("4/hour")
    karin = UserFactory(preferred_language="en")
    api, web = clients(karin)
    attempts = [
        api.post(API["ride"], {}, format="json"),
        web.post(WEB["carpool"], {}),
        api.post(API["sharing"], {}, format="json"),
        web.post(WEB["shop_run"], {}),
    ]
    assert 429 not in [response.status_code for response in attempts]

    for kind, url in API.items():
        refused = api.post(url, {}, format="json")
        assert refused.status_code == 429, kind
        assert refused.json()["error"]["code"] == "throttled"
        assert int(refused.headers["Retry-After"]) > 0
    for kind, url in WEB.items():
        page = web.post(url, {})
        assert page.status_code == 429, kind
        assert int(page.headers["Retry-After"]) > 0
        assert "You have made many bookings in a short time." in page.content.decode()

    # Reading goes on; someone else books as before.
    assert api.get(API["ride"]).status_code == 200
    assert web.get(WEB["ride"]).status_code != 429
    other_api, other_web = clients(UserFactory(preferred_language="en"))
    assert other_api.post(API["ride"], {}, format="json").status_code != 429
    assert other_web.post(WEB["sharing"], {}).status_code != 429


@pytest.mark.parametrize("kind", list(API), ids=list(API))
def test_each_booking_endpoint_of_the_api_is_limited(booking_rate, kind):
    booking_rate("2/hour")
    api, _web = clients(UserFactory(preferred_language="en"))
    statuses = [api.post(API[kind], {}, format="json").status_code for _ in range(3)]
    assert 429 not in statuses[:2]
    assert statuses[2] == 429


@pytest.mark.parametrize("kind", list(WEB), ids=list(WEB))
def test_each_booking_form_of_the_web_pages_is_limited(booking_rate, kind):
    booking_rate("2/hour")
    _api, web = clients(UserFactory(preferred_language="en"))
    statuses = [web.post(WEB[kind], {}).status_code for _ in range(3)]
    assert 429 not in statuses[:2]
    assert statuses[2] == 429

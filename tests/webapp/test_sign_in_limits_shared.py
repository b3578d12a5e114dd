"""The API's login and the web sign-in pages count on the same counters: alternating
between them gives nobody more attempts, per client address and per person."""

import pytest
import rest_framework.throttling  # noqa: F401 - binds DRF's rates before a test changes them
from django.test import Client
from rest_framework.test import APIClient

from backend.accounts.models import LoginCode
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "070-174 06 21"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
def anna(db):
    return UserFactory(full_name="Anna Eriksson", phone="+46701740621", preferred_language="en")


def web(address: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)
    client.cookies["django_language"] = "en"
    return client


def api(address: str) -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)


def test_alternating_api_and_web_from_one_address_share_its_limit(anna, rates):
    rates(login="4/min")
    address = "203.0.113.20"
    wrong = {"identifier": PHONE, "password": "gissning"}
    for _ in range(2):
        assert api(address).post(LOGIN, wrong, format="json").status_code == 400
        assert web(address).post("/sign-in", wrong).status_code == 400
    # Four attempts in all: the fifth is refused on either side, the right password too.
    refused = api(address).post(LOGIN, {"identifier": PHONE, "password": PASSWORD}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) > 0
    page = web(address).post("/sign-in", {"identifier": PHONE, "password": PASSWORD})
    assert page.status_code == 400
    assert "Too many sign-in attempts" in page.content.decode()
    assert "_auth_user_id" not in page.wsgi_request.session


def test_alternating_api_and_web_for_one_person_from_many_addresses_share_the_limit(anna, rates):
    rates(identifier="4/hour")
    for n in range(2):
        api(f"198.51.100.{n}").post(LOGIN, {"identifier": PHONE, "password": "fel"}, format="json")
        web(f"198.51.100.{10 + n}").post(
            "/sign-in", {"identifier": "+46701740621", "password": "fel"}
        )
    refused = web("198.51.100.99").post(
        "/sign-in", {"identifier": "+46 70 174 06 21", "password": PASSWORD}
    )
    assert "Too many sign-in attempts" in refused.content.decode()
    assert (
        api("198.51.100.98")
        .post(LOGIN, {"identifier": PHONE, "password": PASSWORD}, format="json")
        .status_code
        == 429
    )


def test_one_time_code_guesses_and_api_passwords_share_the_address_limit(anna, rates, sms_provider):
    rates(login="3/min")
    address = "203.0.113.30"
    client = web(address)
    assert client.post("/sign-in/code", {"phone": PHONE}).status_code == 302
    for _ in range(2):
        api(address).post(LOGIN, {"identifier": PHONE, "password": "fel"}, format="json")
    assert client.post("/sign-in/code/verify", {"code": "000000"}).status_code == 400
    attempts = LoginCode.objects.get().attempts
    response = client.post("/sign-in/code/verify", {"code": "111111"})
    assert "Too many sign-in attempts" in response.content.decode()
    assert LoginCode.objects.get().attempts == attempts  # refused before the code was read

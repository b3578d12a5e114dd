"""Sign-in attempts on the web pages are limited like the API's login: per client
address (THROTTLE_LOGIN) and per phone number (THROTTLE_LOGIN_IDENTIFIER), for
passwords and for one-time codes; a refused attempt checks nothing."""

import pytest
from django.test import Client

from backend.accounts.login_limits import login_attempt_count, parse_rate
from backend.accounts.models import LoginCode
from backend.errors import ApplicationError
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "070-174 06 20"


@pytest.fixture
def anna(db):
    return UserFactory(full_name="Anna Eriksson", phone="+46701740620", preferred_language="en")


def english(address: str = "203.0.113.5") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)
    client.cookies["django_language"] = "en"
    return client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("10/min", (10, 60)), ("20/hour", (20, 3600)), ("5/s", (5, 1)), ("100/day", (100, 86400))],
    ids=["per-minute", "per-hour", "per-second", "per-day"],
)
def test_rates_read_like_the_api_throttles(rate, parsed):
    assert parse_rate(rate) == parsed


def test_one_address_guessing_passwords_is_stopped_even_with_the_right_one(anna, rates):
    rates(login="3/min")
    client = english()
    for _ in range(3):
        response = client.post("/sign-in", {"identifier": PHONE, "password": "gissning"})
        assert response.status_code == 400
    response = client.post("/sign-in", {"identifier": PHONE, "password": PASSWORD})
    assert response.status_code == 400
    assert "Too many sign-in attempts" in response.content.decode()
    assert not signed_in(client)
    # Another address is not affected.
    other = english("198.51.100.7")
    assert other.post("/sign-in", {"identifier": PHONE, "password": PASSWORD}).status_code == 302


def test_guessing_one_persons_password_from_many_addresses_is_stopped(anna, rates):
    rates(identifier="3/hour")
    for n in range(3):
        english(f"198.51.100.{n}").post("/sign-in", {"identifier": PHONE, "password": "fel"})
    # Any spelling of the number counts as the same person.
    client = english("198.51.100.99")
    response = client.post("/sign-in", {"identifier": "+46 70 174 06 20", "password": PASSWORD})
    assert response.status_code == 400
    assert "Too many sign-in attempts" in response.content.decode()
    assert not signed_in(client)


def test_one_time_code_guesses_are_limited_per_address_too(anna, rates, sms_provider):
    rates(login="2/min")
    client = english()
    assert client.post("/sign-in/code", {"phone": PHONE}).status_code == 302
    for _ in range(2):
        assert client.post("/sign-in/code/verify", {"code": "000000"}).status_code == 400
    attempts = LoginCode.objects.get().attempts
    response = client.post("/sign-in/code/verify", {"code": "111111"})
    assert response.status_code == 400
    assert "Too many sign-in attempts" in response.content.decode()
    # Refused before the code was checked: the guess was not even counted on the code.
    assert LoginCode.objects.get().attempts == attempts
    assert not signed_in(client)


def test_the_limit_lets_people_in_while_redis_is_down(anna, settings, rates):
    rates(login="1/min")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    for _ in range(3):
        login_attempt_count(identifier=PHONE, client_ip="203.0.113.5")  # no error


def test_the_service_refuses_with_a_stable_code(rates):
    rates(login="1/min")
    login_attempt_count(identifier=PHONE, client_ip="203.0.113.9")
    with pytest.raises(ApplicationError) as refused:
        login_attempt_count(identifier=PHONE, client_ip="203.0.113.9")
    assert refused.value.code == "login_rate_limited"


def test_no_sign_in_code_is_sent_while_redis_is_down(anna, settings, sms_provider):
    """Codes cost an SMS each: without the counters, refuse with a message, not a 500."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = english().post("/sign-in/code", {"phone": PHONE})
    assert response.status_code == 400
    assert "We could not send the SMS just now" in response.content.decode()
    assert sms_provider.requests == []
    assert not LoginCode.objects.exists()

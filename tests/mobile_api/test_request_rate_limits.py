"""The API's general rate limits (THROTTLE_USER per person, THROTTLE_ANON per address),
counted in Redis in windows of the rate's period read as a sliding window
(mobile_api/throttles.py, backend/rate_limits.py)."""

import pytest
from django.core.cache import cache
from django.utils import translation

from mobile_api import throttles
from mobile_api.errors import wait_text
from tests.factories import AssociationFactory, UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"


@pytest.fixture
def limits(monkeypatch):
    """Small limits per day."""
    monkeypatch.setattr(throttles.UserRateThrottle, "rate", "3/day", raising=False)
    monkeypatch.setattr(throttles.AnonRateThrottle, "rate", "2/day", raising=False)


def test_a_person_over_the_limit_is_told_to_wait_and_others_are_not(limits, api_as):
    anna, bo = UserFactory(), UserFactory()
    client = api_as(anna)
    assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(ME)

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    # This day's three fade out over the next day, so a place frees a third of the way
    # into it: at most a day and a third from now.
    assert 0 < int(refused.headers["Retry-After"]) <= 86400 * 4 // 3
    assert api_as(bo).get(ME).status_code == 200


def test_the_count_is_one_counter_per_person_and_window(limits, api_as):
    anna = UserFactory()
    for _ in range(2):
        api_as(anna).get(ME)

    [key] = [k for k in cache._cache.get_client().keys("*") if f"throttle_user_{anna.pk}" in str(k)]
    assert int(cache._cache.get_client().get(key)) == 2
    # It is read as the previous window's count during the next day, then it goes.
    assert 86400 < cache._cache.get_client().ttl(key) <= 2 * 86400 + 1


def test_requests_without_a_token_are_limited_per_address(limits, api):
    public = f"/api/v1/gbfs/v3/{AssociationFactory().pk}/gbfs.json"  # open data, no sign-in
    assert [api.get(public, REMOTE_ADDR="192.0.2.7").status_code for _ in range(2)] == [200, 200]

    refused = api.get(public, REMOTE_ADDR="192.0.2.7")

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert api.get(public, REMOTE_ADDR="192.0.2.8").status_code == 200


def test_a_signed_in_person_does_not_count_against_their_address(limits, api_as):
    client = api_as(UserFactory())
    statuses = [client.get(ME, REMOTE_ADDR="192.0.2.9").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]  # the anonymous limit (2) did not apply


@pytest.mark.parametrize(
    ("rate", "language", "message"),
    [
        (
            "3/s",
            "sv",
            "Du har skickat för många förfrågningar på kort tid. Vänta 2 sekunder och försök igen.",
        ),
        ("3/s", "en", "Too many requests in a short time. Wait 2 seconds and try again."),
        (
            "3/min",
            "sv",
            "Du har skickat för många förfrågningar på kort tid. Vänta 2 minuter och försök igen.",
        ),
        ("3/day", "en", "Too many requests in a short time. Wait 16 hours and try again."),
    ],
    ids=["seconds-sv", "seconds-en", "minutes-sv", "hours-en"],
)
def test_a_refusal_says_in_a_whole_sentence_how_long_to_wait(
    monkeypatch, rate_limits_clock, api_as, rate, language, message
):
    monkeypatch.setattr(throttles.UserRateThrottle, "rate", rate, raising=False)
    rate_limits_clock.now += 8 * 3600  # 16 hours into a UTC day, on the hour
    client = api_as(UserFactory())
    assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(ME, HTTP_ACCEPT_LANGUAGE=language)

    assert refused.status_code == 429
    assert refused.json()["error"] == {"code": "throttled", "message": message, "fields": {}}
    assert int(refused.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (120 * 60, "120 minutes"),
        (120 * 60 + 1, "3 hours"),
        (86_400, "24 hours"),
    ],
)
def test_a_wait_is_given_in_seconds_minutes_or_hours(seconds, words):
    with translation.override("en"):
        assert wait_text(seconds) == words

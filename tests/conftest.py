from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation
from rest_framework.test import APIClient

from backend import rate_limits
from backend.notifications.live import close_publisher

pytest_plugins = [
    "tests.rides_fixtures",
    "tests.carpool_fixtures",
    "tests.sharing_fixtures",
    "tests.notify_fixtures",
    "tests.home_fixtures",
]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters live in the (real, Redis) cache: start every test afresh."""
    cache.clear()
    yield


class StoppedClock:
    """A stand-in for the `time` module that stays at `now` until it is moved."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def rate_limits_clock(monkeypatch) -> StoppedClock:
    """The rate limits' clock (backend.rate_limits), stopped at the start of an hour
    (1_800_000_000); set `.now` to move it."""
    clock = StoppedClock(1_800_000_000)
    monkeypatch.setattr(rate_limits, "time", clock)
    return clock


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """The Redis channel layer keeps asyncio locks bound to the event loop it ran on (a
    consumer the server closed can leave one held); every async test has a loop of its
    own, so every test gets a layer of its own."""
    channel_layers.backends.clear()
    yield
    close_publisher()  # and with it the Redis connections of this test's layer


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the site's default language (Swedish): a request that
    switched the language in this thread must not decide what the next test reads."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as():
    """api_as(user) gives a client authenticated as that user."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def rates(settings):
    """rates(login=..., identifier=...) sets the sign-in rate limits (API and pages)."""

    def set_rates(login: str = "100/min", identifier: str = "100/hour") -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "login": login,
                "login_identifier": identifier,
            },
        }

    return set_rates


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    """Compile the .po catalogues once, so tests see the same texts as the running app."""
    locale = Path(__file__).resolve().parents[1] / "backend" / "locale"
    stale = [
        po
        for po in locale.glob("*/LC_MESSAGES/django.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command(
            "compilemessages",
            locale=[po.parts[-3] for po in stale],
            ignore_patterns=[".venv/*", "var/*"],
            verbosity=0,
        )

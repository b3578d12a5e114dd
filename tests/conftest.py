import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters live in the (real, Redis) cache: start every test afresh."""
    cache.clear()
    yield


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

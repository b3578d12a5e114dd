"""Geocoding through a Nominatim-compatible service (a fake one on loopback), and its
cache in the real Redis."""

import hashlib

import pytest
from django.core.cache import cache

from backend.geocoding import geocode, geocode_cache_key, geocode_suggestions
from tests.fakes.geocoder import FakeNominatim

ADDRESS = "Järnvägsgatan 4, Vansbro"


@pytest.fixture
def nominatim(settings):
    with FakeNominatim({ADDRESS: (14.2246, 60.5089)}) as geocoder:
        settings.GEOCODER_URL = geocoder.url
        settings.GEOCODER_COUNTRY = "se"
        yield geocoder


def test_the_cache_key_is_a_sha256_of_the_country_and_the_normalised_query(settings):
    settings.GEOCODER_COUNTRY = "se"
    expected = hashlib.sha256("se\njärnvägsgatan 4, vansbro".encode()).hexdigest()

    assert geocode_cache_key(ADDRESS) == f"geocode:{expected}"
    assert geocode_cache_key("  JÄRNVÄGSGATAN 4,\tvansbro ") == f"geocode:{expected}"
    assert geocode_cache_key("Järnvägsgatan 40, Vansbro") != f"geocode:{expected}"
    settings.GEOCODER_COUNTRY = "no"
    assert geocode_cache_key(ADDRESS) != f"geocode:{expected}"


def test_another_spelling_of_a_looked_up_address_comes_from_the_cache(nominatim):
    first = geocode(ADDRESS)
    again = geocode("järnvägsgatan   4, VANSBRO")

    assert (first.x, first.y) == (again.x, again.y) == (14.2246, 60.5089)
    assert [r.query["q"] for r in nominatim.requests] == [ADDRESS]
    assert cache.get(geocode_cache_key(ADDRESS)) == (14.2246, 60.5089)


def test_the_address_itself_is_not_in_any_redis_key(nominatim):
    geocode(ADDRESS)

    redis = cache._cache.get_client(write=False)
    keys = [key.decode() for key in redis.scan_iter("*geocode*")]
    digest = hashlib.sha256("se\njärnvägsgatan 4, vansbro".encode()).hexdigest()
    assert keys == [f"samby:1:geocode:{digest}"]
    assert not [
        key for key in redis.scan_iter() if "vansbro" in key.decode("utf-8", "replace").lower()
    ]


def test_suggestions_are_cached_without_the_typed_text_in_any_redis_key(nominatim):
    first = geocode_suggestions(ADDRESS)
    again = geocode_suggestions("  järnvägsgatan 4,  VANSBRO")

    assert first
    assert [name for name, _ in first] == [name for name, _ in again]
    assert len(nominatim.requests) == 1  # the second came from the cache
    redis = cache._cache.get_client(write=False)
    assert [key.decode() for key in redis.scan_iter("*geosuggest*")]
    assert not [
        key
        for key in redis.scan_iter()
        if "vansbro" in key.decode("utf-8", "replace").lower()
        or "järnväg" in key.decode("utf-8", "replace").lower()
    ]

"""Addresses to points through a Nominatim-compatible service (geopy).

GEOCODER_URL names the service (scheme and host, e.g. https://nominatim.example.se);
empty means addresses cannot be looked up and people pick a point on the map instead.
Results are limited to Sweden (GEOCODER_COUNTRY) and cached for a day.
"""

import hashlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

from backend.errors import ApplicationError, ErrorKind

logger = logging.getLogger(__name__)


def geocoder() -> Nominatim:
    parts = urlsplit(settings.GEOCODER_URL)
    return Nominatim(
        domain=parts.netloc + parts.path.rstrip("/"),
        scheme=parts.scheme or "https",
        user_agent=settings.GEOCODER_USER_AGENT,
        timeout=settings.GEOCODER_TIMEOUT,
    )


def normalise_query(address: str) -> str:
    """The form two spellings of one address share: case folded, spaces collapsed."""
    return " ".join(address.split()).casefold()


def geocode_cache_key(address: str) -> str:
    """The cache key of a lookup: a SHA-256 of the country and the normalised query. The
    raw text stays out of the key: it is personal data (people type their own address),
    and it may hold characters or a length a cache backend refuses."""
    return _hashed_key("geocode", address)


def _hashed_key(prefix: str, address: str) -> str:
    query = f"{settings.GEOCODER_COUNTRY.casefold()}\n{normalise_query(address)}"
    return f"{prefix}:" + hashlib.sha256(query.encode()).hexdigest()


def geocode(address: str, *, field: str = "address") -> Point:
    """The point of an address, or an error saying what the person can do instead."""
    address = " ".join(address.split())
    if not settings.GEOCODER_URL:
        raise ApplicationError(
            "geocoder_unavailable",
            _("Addresses cannot be looked up here. Pick the place on the map instead."),
            kind=ErrorKind.CONFLICT,
            fields={field: [_("Pick the place on the map.")]},
        )
    key = geocode_cache_key(address)
    cached = cache.get(key)
    if cached is not None:
        return Point(*cached, srid=4326)
    try:
        found = geocoder().geocode(address, country_codes=settings.GEOCODER_COUNTRY)
    except GeopyError as error:
        logger.warning("geocoder failed for an address: %s", error)
        raise ApplicationError(
            "geocoder_unavailable",
            _(
                "We could not look up the address just now. Try again, or pick the place on "
                "the map."
            ),
            kind=ErrorKind.CONFLICT,
            fields={field: [_("Lookup failed.")]},
        ) from error
    if found is None:
        raise ApplicationError(
            "address_not_found",
            _(
                "We could not find that address. Check the spelling, add the village, or pick "
                "the place on the map."
            ),
            fields={field: [_("Address not found.")]},
        )
    cache.set(key, (found.longitude, found.latitude), 24 * 3600)
    return Point(found.longitude, found.latitude, srid=4326)


def geocode_suggestions(query: str, *, limit: int = 5) -> list[tuple[str, Point]]:
    """Places matching what the person has typed so far, as (name, point), best first.
    Empty when there is no geocoder, the query is too short, or the geocoder fails: the
    suggestions only help, the form still takes the typed address or a map point."""
    query = " ".join(query.split())
    if not settings.GEOCODER_URL or len(query) < 3:
        return []
    # Hashed like a lookup's key: what people type is often their own address.
    key = _hashed_key(f"geosuggest:{limit}", query)
    cached = cache.get(key)
    if cached is not None:
        return [(name, Point(lon, lat, srid=4326)) for name, lon, lat in cached]
    try:
        found = geocoder().geocode(
            query, exactly_one=False, limit=limit, country_codes=settings.GEOCODER_COUNTRY
        )
    except GeopyError as error:
        logger.warning("geocoder failed for suggestions: %s", error)
        return []
    rows = [(place.address, place.longitude, place.latitude) for place in found or []]
    cache.set(key, rows, 24 * 3600)
    return [(name, Point(lon, lat, srid=4326)) for name, lon, lat in rows]

"""Shared for the tests of a person's home address (the profile page, the API, the
service): a move from Vansbro to Dala-Järna, with a geocoder on loopback that knows the
new address. Loaded for every test by tests/conftest.py."""

import pytest

from tests.factories import VANSBRO
from tests.fakes.geocoder import FakeNominatim

OLD_HOME = "Järnvägsgatan 4, Vansbro"
NEW_HOME = "Kyrkvägen 3, Dala-Järna"
NEW_POINT = (14.3621, 60.5548)
OLD = (OLD_HOME, (round(VANSBRO.x, 4), round(VANSBRO.y, 4)))


@pytest.fixture
def home_geocoder(settings):
    """A Nominatim on loopback that finds NEW_HOME, set as the geocoder."""
    with FakeNominatim({NEW_HOME: NEW_POINT}) as fake:
        settings.GEOCODER_URL = fake.url
        yield fake


def home_of(user) -> tuple[str, tuple[float, float] | None]:
    """The person's home as stored now: the address and the point to 4 decimals."""
    user.refresh_from_db()
    location = user.home_location
    return user.home_address, (
        None if location is None else (round(location.x, 4), round(location.y, 4))
    )

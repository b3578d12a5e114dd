"""Where a person lives: the home address and its point change together
(`user_home_change`, and `user_update_profile` when the address is among the changes), so
the point never stays at an old home: an address alone is looked up in the home_geocoder (the
fake Nominatim on loopback), a point given is used as it is, an empty address removes
both. When the address cannot be looked up nothing is saved."""

import pytest
from django.contrib.gis.geos import Point

from backend.accounts.services import user_home_change, user_update_profile
from backend.errors import ApplicationError, ErrorKind
from tests.factories import VANSBRO, ManagedProfileFactory, UserFactory
from tests.home_fixtures import NEW_HOME, NEW_POINT, OLD, OLD_HOME, home_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    return UserFactory(home_address=OLD_HOME, home_location=VANSBRO)


def test_a_new_address_is_looked_up_and_its_point_saved_with_it(person, home_geocoder):
    user_home_change(user=person, address=f"  {NEW_HOME} ")
    assert home_of(person) == (NEW_HOME, NEW_POINT)
    assert [r.query["q"] for r in home_geocoder.requests] == [NEW_HOME]


def test_a_managed_profile_moves_the_same_way(home_geocoder):
    person = ManagedProfileFactory(home_address=OLD_HOME, home_location=VANSBRO)
    user_home_change(user=person, address=NEW_HOME)
    assert home_of(person) == (NEW_HOME, NEW_POINT)


def test_a_point_given_is_used_without_a_lookup(person, home_geocoder):
    user_home_change(user=person, address="Lillgården", point=Point(14.1, 60.4, srid=4326))
    assert home_of(person) == ("Lillgården", (14.1, 60.4))
    assert home_geocoder.requests == []


@pytest.mark.parametrize("address", ["", "   "], ids=["empty", "spaces"])
def test_an_empty_address_removes_the_home_and_its_point(person, home_geocoder, address):
    user_home_change(user=person, address=address, point=Point(14.1, 60.4, srid=4326))
    assert home_of(person) == ("", None)
    assert home_geocoder.requests == []


def test_an_address_not_found_says_so_on_the_field_and_saves_nothing(person, home_geocoder):
    with pytest.raises(ApplicationError) as refused:
        user_home_change(user=person, address="Ingenstans 99")
    assert refused.value.code == "address_not_found"
    assert refused.value.kind == ErrorKind.INVALID
    assert refused.value.fields == {"home_address": ["Adressen hittades inte."]}
    assert (person.home_address, person.home_location) == (OLD_HOME, VANSBRO)
    assert home_of(person) == OLD


def test_without_a_geocoder_the_address_is_refused_and_nothing_saved(person, settings):
    settings.GEOCODER_URL = ""
    with pytest.raises(ApplicationError) as refused:
        user_home_change(user=person, address=NEW_HOME)
    assert refused.value.code == "geocoder_unavailable"
    assert refused.value.kind == ErrorKind.CONFLICT
    assert list(refused.value.fields) == ["home_address"]
    assert home_of(person) == OLD


def test_the_profile_change_of_an_address_brings_its_point(person, home_geocoder):
    user_update_profile(user=person, changes={"home_address": NEW_HOME, "full_name": "Anna"})
    assert home_of(person) == (NEW_HOME, NEW_POINT)
    assert person.full_name == "Anna"


def test_the_profile_change_with_an_address_not_found_changes_nothing(person, home_geocoder):
    with pytest.raises(ApplicationError):
        user_update_profile(
            user=person, changes={"home_address": "Ingenstans 99", "full_name": "A"}
        )
    assert home_of(person) == OLD
    assert person.full_name != "A"


def test_the_profile_change_of_a_point_alone_keeps_the_address(person, home_geocoder):
    user_update_profile(user=person, changes={"home_location": Point(14.1, 60.4, srid=4326)})
    assert home_of(person) == (OLD_HOME, (14.1, 60.4))
    assert home_geocoder.requests == []

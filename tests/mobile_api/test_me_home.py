"""`PATCH /api/v1/auth/me` with a home address: its point follows it (looked up in the
fake Nominatim on loopback unless the request gives one), an empty address removes both,
and an address that cannot be found is a 400 on the field with nothing changed."""

import pytest
import yaml

from backend.audit.models import AuditEntry
from tests.factories import VANSBRO, UserFactory
from tests.home_fixtures import NEW_HOME, NEW_POINT, OLD, OLD_HOME, home_of

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"


@pytest.fixture
def karin():
    return UserFactory(full_name="Karin Lindqvist", home_address=OLD_HOME, home_location=VANSBRO)


def test_an_address_alone_is_looked_up_and_its_point_saved(api_as, karin, home_geocoder):
    response = api_as(karin).patch(ME, {"home_address": NEW_HOME}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["home_address"] == NEW_HOME
    assert body["home_location"]["coordinates"] == pytest.approx(list(NEW_POINT))
    assert home_of(karin) == (NEW_HOME, NEW_POINT)
    assert [r.query["q"] for r in home_geocoder.requests] == [NEW_HOME]


def test_an_address_with_a_point_uses_the_point_without_a_lookup(api_as, karin, home_geocoder):
    response = api_as(karin).patch(
        ME,
        {
            "home_address": "Lillgården, Äppelbo",
            "home_location": {"type": "Point", "coordinates": [14.0021, 60.4943]},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert home_of(karin) == ("Lillgården, Äppelbo", (14.0021, 60.4943))
    assert home_geocoder.requests == []


def test_an_empty_address_removes_the_home_and_its_point(api_as, karin, home_geocoder):
    response = api_as(karin).patch(ME, {"home_address": ""}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["home_address"], response.json()["home_location"]) == ("", None)
    assert home_of(karin) == ("", None)
    assert home_geocoder.requests == []


def test_an_address_not_found_is_a_400_on_the_field_and_changes_nothing(
    api_as, karin, home_geocoder
):
    response = api_as(karin).patch(
        ME,
        {"home_address": "Ingenstans 99", "full_name": "Karin L"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "address_not_found"
    assert error["message"].startswith("We could not find that address.")
    assert error["fields"] == {"home_address": ["Address not found."]}
    assert home_of(karin) == OLD
    assert karin.full_name == "Karin Lindqvist"
    assert not AuditEntry.objects.exists()


def test_the_change_is_audited_by_field_names_only(api_as, karin, home_geocoder):
    api_as(karin).patch(ME, {"home_address": NEW_HOME}, format="json")
    [entry] = AuditEntry.objects.values_list("action", "detail")
    assert entry == ("profile.change", {"fields": ["home_address"]})


def test_the_schema_says_the_point_follows_the_address(api):
    schema = yaml.safe_load(api.get("/api/schema/").content)
    patch = schema["paths"]["/api/v1/auth/me"]["patch"]
    assert "is looked up" in patch["description"]
    ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
    assert "looked up" in fields["home_address"]["description"]
    assert "Empty removes both" in fields["home_address"]["description"]
    assert "instead of looking the address up" in fields["home_location"]["description"]

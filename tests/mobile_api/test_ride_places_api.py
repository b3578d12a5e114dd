"""`GET /api/v1/rides/places`: the places a rider knows (home, then the ends of their
latest rides), for whom each booker may see them; and booking with an address alone that
is one of them, which needs no geocoder (none is configured here)."""

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.accounts.models import ProxyLink
from backend.audit.models import AuditEntry
from backend.rides.models import RideRequest
from tests.factories import DALA_JARNA, AssociationFactory, RideRequestFactory
from tests.mobile_api.test_rides_api import approved, error_of, person, ride_body, world  # noqa: F401

pytestmark = pytest.mark.django_db

PLACES = "/api/v1/rides/places"
HOME = "Storgatan 3, Vansbro"
HOME_POINT = Point(14.2301, 60.5102, srid=4326)


@pytest.fixture
def known(approved, settings):  # noqa: F811
    settings.GEOCODER_URL = ""
    rider = approved.rider
    rider.home_address, rider.home_location = HOME, HOME_POINT
    rider.save(update_fields=["home_address", "home_location"])
    RideRequestFactory(rider=rider, association=approved.association)
    return approved


def test_my_places_home_first_as_points_to_send_back(known, api_as):
    response = api_as(known.rider).get(PLACES)
    assert response.status_code == 200
    assert response.json() == [
        {
            "address": HOME,
            "point": {"type": "Point", "coordinates": [14.2301, 60.5102]},
            "is_home": True,
        },
        {
            "address": "Vårdcentralen, Dala-Järna",
            "point": {"type": "Point", "coordinates": [DALA_JARNA.x, DALA_JARNA.y]},
            "is_home": False,
        },
        {
            "address": "Järnvägsgatan 4, Vansbro",
            "point": {"type": "Point", "coordinates": [14.22458, 60.50893]},
            "is_home": False,
        },
    ]
    assert not AuditEntry.objects.filter(action="ride_places.view").exists()


def test_a_proxy_sees_her_mothers_places_and_it_is_recorded(known, api_as):
    daughter = person("Lena Eriksson", "+46701740630")
    ProxyLink.objects.create(
        proxy=daughter, resident=known.rider, relationship="dotter", accepted_at=timezone.now()
    )
    response = api_as(daughter).get(PLACES, {"rider": known.rider.pk})
    assert response.status_code == 200
    assert response.json()[0]["address"] == HOME
    entry = AuditEntry.objects.get(action="ride_places.view")
    assert (entry.actor, entry.subject) == (daughter, known.rider)


def test_a_coordinator_names_the_association_and_sees_its_rides_places_only(known, api_as):
    elsewhere = AssociationFactory(name="Järna idrottsförening")
    RideRequestFactory(rider=known.rider, association=elsewhere, destination_address="Tandläkaren")
    karin = api_as(known.coordinator)
    error = error_of(karin.get(PLACES, {"rider": known.rider.pk}), 400)
    assert error["code"] == "association_required"
    assert "association you coordinate" in error["fields"]["association"][0]
    response = karin.get(PLACES, {"rider": known.rider.pk, "association": known.association.pk})
    assert response.status_code == 200
    addresses = [place["address"] for place in response.json()]
    assert addresses == [HOME, "Vårdcentralen, Dala-Järna", "Järnvägsgatan 4, Vansbro"]
    # Another association's rides are not hers to see, even when she names it.
    refused = karin.get(PLACES, {"rider": known.rider.pk, "association": elsewhere.pk})
    assert error_of(refused, 400)["code"] == "association_required"


def test_someone_i_do_not_book_for_is_not_found(known, api_as):
    stranger = person("Per Ek", "+46701740690")
    assert api_as(stranger).get(PLACES, {"rider": known.rider.pk}).status_code == 404


@pytest.mark.parametrize("query", [{"rider": "x"}, {"association": "many"}])
def test_bad_input_is_400(known, api_as, query):
    assert error_of(api_as(known.rider).get(PLACES, query), 400)["code"] == "invalid"


def test_booking_with_the_address_of_a_known_place_needs_no_geocoder(known, api_as):
    body = ride_body(
        pickup={"address": "storgatan 3, vansbro"},
        destination={"address": "Vårdcentralen, Dala-Järna"},
    )
    response = api_as(known.rider).post("/api/v1/rides/", body)
    assert response.status_code == 201, response.content
    ride = RideRequest.objects.get(pk=response.json()["id"])
    assert ride.pickup.coords == (14.2301, 60.5102)
    assert ride.destination.coords == (DALA_JARNA.x, DALA_JARNA.y)


def test_an_unknown_address_without_a_geocoder_books_nothing(known, api_as):
    before = RideRequest.objects.count()
    body = ride_body(pickup={"address": "Kyrkvägen 9, Äppelbo"})
    error = error_of(api_as(known.rider).post("/api/v1/rides/", body), 409)
    assert "pickup.address" in error["fields"]
    assert RideRequest.objects.count() == before
